"""Shared helpers of the system tests: `lk` processes, PostgreSQL databases, an SMTP receiver,
an HTTP client with the customer flows, and the PASS/FAIL report.

Everything started here is registered for clean-up, which runs at exit whatever happens
(`atexit`, plus SIGTERM/SIGINT turned into a normal exit). Processes are ended by their own
pid only: other people run `lk` servers on the same machine.
"""

from __future__ import annotations

import atexit
import csv
import email
import email.policy
import io
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

# aiosmtpd logs every SMTP session; that is noise here.
logging.getLogger("mail.log").setLevel(logging.ERROR)

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Тёплый-дом-2024"
FULL_NAME = "Иванов Иван Иванович"
PG_SERVER = os.environ.get("SYSTEM_PG_URL", "postgres://postgres@127.0.0.1:5432")
# KEEP_TMP=1 keeps the scratch directories (server logs, SQLite files) for a post-mortem.
KEEP_TMP = os.environ.get("KEEP_TMP") == "1"


def lk_bin() -> str:
    # Absolute: the servers run in their scratch directories.
    return os.path.abspath(os.environ.get("LK_BIN") or REPO_ROOT / "target" / "debug" / "lk")


# ---------------------------------------------------------------------------------------------
# Clean-up: a LIFO stack of callables, run once at exit or when a suite asks for it.

_cleanups: list[tuple[str, object]] = []
_cleanup_lock = threading.Lock()


def on_cleanup(what: str, fn) -> None:
    with _cleanup_lock:
        _cleanups.append((what, fn))


def cleanup_all() -> None:
    while True:
        with _cleanup_lock:
            if not _cleanups:
                return
            what, fn = _cleanups.pop()
        try:
            fn()
        except Exception as error:  # clean-up must go on with the rest
            print(f"  (clean-up of {what} failed: {error})", file=sys.stderr)


atexit.register(cleanup_all)


def _exit_on_signal(signum, _frame):
    # sys.exit runs atexit, so servers and databases go away on Ctrl-C or `kill` too.
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _exit_on_signal)
signal.signal(signal.SIGINT, _exit_on_signal)


def temp_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"lk-system-{prefix}-"))
    if not KEEP_TMP:
        on_cleanup(f"temp dir {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def free_port() -> int:
    """A port nothing listened on a moment ago (bound by the kernel, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1):
    """Polls `predicate` until it returns something truthy; returns that, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def random_hex(n: int = 8) -> str:
    return secrets.token_hex(n)


# ---------------------------------------------------------------------------------------------
# The report: one PASS/FAIL line per check.


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.figures: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        line = f"{'PASS' if ok else 'FAIL'}  {name}"
        if detail:
            line += f"  — {detail}"
        print(line, flush=True)
        return ok

    def note(self, text: str) -> None:
        """A figure worth keeping (counts, times), printed at once and again in the summary."""
        self.figures.append(text)
        print(f"      {text}", flush=True)


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a fresh database per test, dropped at the end.


def psql(sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        ["psql", f"{PG_SERVER}/{database}", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


def query(database_url: str, sql: str) -> list[list[str]]:
    """Rows of a read-only query as text ('1'/'0' for booleans), on SQLite or PostgreSQL: for
    what the API does not show, such as the mail outbox."""
    if database_url.startswith("sqlite:"):
        path = database_url.split("://", 1)[1]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return [["" if v is None else str(int(v) if isinstance(v, bool) else v) for v in row]
                    for row in db.execute(sql)]
    # CSV survives newlines in values; booleans come as t/f.
    out = psql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", database_url.rsplit("/", 1)[1])
    rows = list(csv.reader(io.StringIO(out)))
    return [[{"t": "1", "f": "0"}.get(v, v) for v in row] for row in rows]


def create_pg_database() -> str:
    """Creates `lk_system_<hex>` and returns its URL; it is dropped at clean-up."""
    name = f"lk_system_{random_hex()}"
    psql(f"CREATE DATABASE {name}")
    # FORCE: a killed server may leave a connection PostgreSQL has not noticed yet.
    on_cleanup(f"database {name}", lambda: psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return f"{PG_SERVER}/{name}"


# ---------------------------------------------------------------------------------------------
# `lk` processes.


def base_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of an `lk` process: a development instance in `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RATE_LIMIT_", "SMTP_"))}
    env.update(
        APP_ENV="development",
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url or f"sqlite://{data_dir / 'lk.sqlite3'}",
        JWT_SECRET=random_hex(32),
        MAIL_TRANSPORT="file",
        RUST_LOG=os.environ.get("RUST_LOG", "warn"),
    )
    env.pop("CONFIG_FILE", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def lk_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [lk_bin(), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120,
        cwd=env["DATA_DIR"],
    )
    if result.returncode != 0:
        raise RuntimeError(f"lk {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def create_api_key(env: dict[str, str]) -> str:
    """`lk api-key create` prints the key (once); the last non-empty line of its output."""
    out = lk_cli(env, "api-key", "create", "--name", f"system-{random_hex(4)}")
    return [line for line in out.splitlines() if line.strip()][-1].strip()


class Server:
    """One `lk serve` on a random loopback port, its output in a log file."""

    def __init__(self, env: dict[str, str], name: str = "lk", port: int | None = None) -> None:
        self.port = port or free_port()
        self.name = name
        self.env = dict(env, LISTEN_ADDR=f"127.0.0.1:{self.port}")
        self.env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{self.port}")
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(env["DATA_DIR"]) / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, ready_timeout: float = 60) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [lk_bin(), "serve"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.env["DATA_DIR"],  # no relative default (./data, crates/web/dist) applies
            start_new_session=True,  # a Ctrl-C in the terminal goes to us, not to it
        )
        log.close()
        on_cleanup(f"{self.name} pid {self.proc.pid}", self.stop)
        if not wait_until(self.ready, ready_timeout, 0.2):
            raise RuntimeError(f"{self.name} did not become ready; log:\n{self.log_tail()}")
        return self

    def ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited; log:\n{self.log_tail()}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> int:
        """SIGKILL: no shutdown hooks, no flushing; returns the exit status (-9)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Nginx:
    """nginx in the foreground with a config of its own in a scratch directory: round-robin
    over `upstreams`, every request logged with the upstream that served it."""

    def __init__(self, upstreams: list[int]) -> None:
        self.dir = temp_dir("nginx")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = self.dir / "access.log"
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
        # Workers drop to `user`; as root that must be a user who can write the temp paths.
        user = "user root root;" if os.geteuid() == 0 else ""
        temps = "\n".join(
            f"    {kind}_temp_path {self.dir / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            f"""
daemon off;
{user}
worker_processes 1;
pid {self.dir / 'nginx.pid'};
error_log {self.dir / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
{temps}
    log_format upstreams '$request_method|$uri|$status|$upstream_addr|$upstream_status';
    access_log {self.access_log} upstreams;
    upstream lk {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 60m;
        location / {{
            proxy_pass http://lk;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        self.proc = subprocess.Popen(
            [
                os.environ.get("NGINX", "/usr/sbin/nginx"),
                "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "error.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "wb"),
            start_new_session=True,
        )
        on_cleanup(f"nginx pid {self.proc.pid}", self.stop)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.dir / 'error.log').read_text()}")
            try:
                requests.get(f"{self.url}/healthz", timeout=2)  # any answer: nginx listens
                return True
            except requests.RequestException:
                return False

        if not wait_until(up, 20, 0.1):
            raise RuntimeError("nginx did not start")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: the master ends its workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_lines(self) -> list[list[str]]:
        """The access log as `[method, uri, status, upstream_addr, upstream_status]`."""
        try:
            text = self.access_log.read_text()
        except OSError:
            return []
        return [line.split("|") for line in text.splitlines() if line]


# ---------------------------------------------------------------------------------------------
# Mail: the file outbox of a development instance, and a real SMTP receiver.


@dataclass
class Mail:
    recipients: list[str]
    message_id: str
    subject: str
    text: str  # the decoded text/plain part
    raw: bytes = b""

    def token(self, path: str) -> str | None:
        """The token of the link `…/<path>?token=…` in the text."""
        match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_-]+)", self.text)
        return match.group(1) if match else None


def parse_mail(raw: bytes, recipients: list[str] | None = None) -> Mail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    to = recipients or [a.addr_spec for a in message.get("To").addresses]
    return Mail(
        recipients=[r.lower() for r in to],
        message_id=str(message.get("Message-ID", "")).strip(),
        subject=str(message.get("Subject", "")),
        text=text,
        raw=raw,
    )


class MailSource:
    """Something messages arrive in; `messages()` returns every one so far."""

    def messages(self) -> list[Mail]:
        raise NotImplementedError

    def find(self, to: str, subject: str | None = None, needle: str | None = None) -> list[Mail]:
        return [
            m
            for m in self.messages()
            if to.lower() in m.recipients
            and (subject is None or m.subject == subject)
            and (needle is None or needle in m.text)
        ]

    def wait_for(self, to: str, subject: str | None = None, needle: str | None = None,
                 timeout: float = 30) -> Mail:
        found = wait_until(lambda: self.find(to, subject, needle), timeout, 0.1)
        if not found:
            raise AssertionError(f"no mail to {to} ({subject or needle}) within {timeout} s")
        return found[-1]


class FileOutbox(MailSource):
    """`MAIL_TRANSPORT=file`: every message is an .eml file under DATA_DIR/outbox."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "outbox"
        self._cache: dict[str, Mail] = {}

    def messages(self) -> list[Mail]:
        if not self.dir.exists():
            return []
        for path in sorted(self.dir.glob("*.eml")):
            if path.name not in self._cache:
                try:
                    self._cache[path.name] = parse_mail(path.read_bytes())
                except Exception:
                    continue  # being written right now; read it next time
        return list(self._cache.values())


@dataclass
class Attempt:
    """One DATA transaction as the SMTP receiver saw it."""

    recipients: list[str]
    message_id: str
    subject: str
    reply: str


class SmtpReceiver(MailSource):
    """aiosmtpd in this process. It can be stopped and started again on the same port (an
    outage), and it can answer the first DATA of each recipient with a transient 451."""

    def __init__(self, port: int | None = None, fail_first_per_recipient: bool = False) -> None:
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}?tls=none"
        self.fail_first = fail_first_per_recipient
        self.accepted: list[Mail] = []
        self.attempts: list[Attempt] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        mail = parse_mail(envelope.content, list(envelope.rcpt_tos))
        with self._lock:
            key = ",".join(mail.recipients)
            if self.fail_first and key not in self._seen:
                # Read the whole content first, as a real server does before it answers.
                self._seen.add(key)
                reply = "451 4.3.0 Temporary failure, try again later"
            else:
                self.accepted.append(mail)
                reply = "250 2.0.0 Message accepted for delivery"
            self.attempts.append(Attempt(mail.recipients, mail.message_id, mail.subject, reply))
        return reply

    def start(self) -> "SmtpReceiver":
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        on_cleanup(f"SMTP receiver :{self.port}", self.stop)
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Mail]:
        with self._lock:
            return list(self.accepted)


# ---------------------------------------------------------------------------------------------
# The API as a customer and an integrator use it.


class ApiError(AssertionError):
    pass


class Api:
    """A client of one base URL (an instance or the proxy); a browser of its own: it keeps
    the refresh cookie."""

    def __init__(self, base: str, timeout: float = 30) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False  # no HTTP proxy for 127.0.0.1
        self.timeout = timeout
        self.access: str | None = None
        self.email: str | None = None

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        bearer = self.access if token is None else token  # "" sends none
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, f"{self.base}/api/v1{path}", headers=headers, **kwargs)

    def expect(self, status: int, method: str, path: str, **kwargs):
        response = self.request(method, path, **kwargs)
        if response.status_code != status:
            raise ApiError(
                f"{method} {path}: expected {status}, got {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response

    # Customer flows -------------------------------------------------------------------------

    def register(self, address: str) -> None:
        self.expect(202, "POST", "/auth/register", json={
            "email": address, "full_name": FULL_NAME, "phone": "7(987)-654-32-10",
            "password": PASSWORD, "password_confirmation": PASSWORD, "consent": True,
        })

    def confirm_email(self, token: str) -> None:
        self.expect(200, "POST", "/auth/confirm-email", json={"token": token})

    def login(self, address: str, password: str = PASSWORD, remember_me: bool = True) -> str:
        response = self.expect(200, "POST", "/auth/login", token="", json={
            "email": address, "password": password, "remember_me": remember_me,
        })
        self.access = response.json()["access_token"]
        return self.access

    def refresh_cookie(self) -> str | None:
        return self.session.cookies.get("lk_refresh")

    def link_account(self, number: str, amount: str, mail: MailSource) -> int:
        """«Добавить лицевой счет», then the link from the activation e-mail; the account id."""
        before = {m.message_id for m in mail.messages()}
        self.expect(202, "POST", "/accounts", json={"number": number, "last_payment_amount": amount})
        me = self.expect(200, "GET", "/me").json()["email"]

        def activation():
            fresh = [m for m in mail.find(me, "Активация лицевого счета")
                     if m.message_id not in before]
            return fresh[-1] if fresh else None

        letter = wait_until(activation, 60, 0.1)
        if letter is None:
            raise ApiError(f"no activation e-mail to {me}")
        confirmed = self.expect(200, "POST", "/accounts/confirm", token="",
                                json={"token": letter.token("/accounts/confirm")})
        return confirmed.json()["account_id"]

    def meters(self, account_id: int) -> list[dict]:
        return self.expect(200, "GET", f"/accounts/{account_id}/meters").json()


def signed_in_customer(base: str, mail: MailSource, address: str | None = None) -> Api:
    """Registers a customer, confirms the address from the e-mail and signs in."""
    address = address or f"sys-{random_hex(6)}@mail.ru"
    api = Api(base)
    api.register(address)
    letter = mail.wait_for(address, "Подтверждение регистрации", timeout=60)
    api.confirm_email(letter.token("/confirm-email"))
    api.login(address)
    api.email = address
    return api


def billing_account(number: str, meters: int = 3) -> dict:
    """An account as billing pushes it: last payment 500.00 and `meters` meters with valid
    verification and no readings yet (so no consumption rule interferes)."""
    kinds = [("ГВС", "hot_water"), ("ОТП", "heating")]
    return {
        "number": number,
        "address": f"г. Пенза, ул. Системная, д. {number[-3:]}",
        "last_payment_amount": "500.00",
        "last_payment_date": "2024-07-20",
        "meters": [
            {
                "name": f"{kinds[i % 2][0]}{i + 1}",
                "kind": kinds[i % 2][1],
                "serial_number": f"{number}_{i + 1}",
                "next_verification": "2040-01-01",
            }
            for i in range(meters)
        ],
    }


def push_accounts(base: str, key: str, accounts: list[dict]) -> dict:
    response = requests.put(
        f"{base}/api/v1/integration/accounts",
        headers={"Authorization": f"Bearer {key}"},
        json={"accounts": accounts},
        timeout=60,
    )
    if response.status_code != 200:
        raise ApiError(f"integration upsert: {response.status_code} {response.text[:300]}")
    return response.json()


def account_numbers(count: int) -> list[str]:
    """Fresh 9-digit account numbers, unlikely to meet the demo ones (720…)."""
    start = secrets.randbelow(10**6)
    return [f"81{(start + i) % 10**7:07d}" for i in range(count)]


def metric(base: str, name: str) -> float | None:
    """One value from /metrics (Prometheus text), without labels."""
    try:
        text = requests.get(f"{base}/metrics", timeout=5).text
    except requests.RequestException:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def detail(summary: str, problems: list[str], shown: int = 5) -> str:
    """A check's detail: the summary, then the first few problems if there are any."""
    if not problems:
        return summary
    more = f" (+{len(problems) - shown} more)" if len(problems) > shown else ""
    return f"{summary}: " + "; ".join(problems[:shown]) + more


def dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)[:300]

