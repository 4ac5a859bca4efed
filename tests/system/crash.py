"""Crash safety (R5): what got a 2xx survives a `kill -9` of the server.

Customers submit readings and file applications with files from many threads while the
server is killed with SIGKILL. After a restart on the same database every acknowledged
application must be there with its text and files, and for every meter this month's reading
must be one of the values sent and at least the last acknowledged one (one reading per meter
and month counts; each thread owns its meters and sends increasing values, so "the last
acknowledged" is well defined; a request in flight at the kill may or may not have landed).
Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import requests

import harness

CUSTOMERS = 6
METERS_PER_ACCOUNT = 3
# The kill comes at a random moment of the load, this many seconds after it started.
KILL_BETWEEN = (2.0, 4.0)
STEP = Decimal("0.001")

# Relaxed so that the load is never refused by a limit (limits are not under test here).
RELAXED_LIMITS = {
    "RATE_LIMIT_APPLICATIONS_PER_USER": "1000000/1h",
    "RATE_LIMIT_MAIL_PER_ADDRESS": "1000000/1h",
    "RATE_LIMIT_MAIL_PER_IP": "1000000/1h",
    "RATE_LIMIT_LOGIN_PER_IP": "1000000/1h",
}


@dataclass
class MeterLog:
    meter_id: int
    sent: list[Decimal] = field(default_factory=list)
    acked: Decimal | None = None
    month: str | None = None

    def next_value(self) -> Decimal:
        value = Decimal("1.000") + STEP * len(self.sent)
        self.sent.append(value)
        return value


@dataclass
class SentApplication:
    id: int
    meter_id: int
    text: str
    files: list[bytes]


@dataclass
class Customer:
    api: harness.Api
    meters: list[MeterLog]


class Load:
    """What the workers did, shared between them and the killer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # Set just before the SIGKILL goes out, with its time: a failure after it is expected.
        self.killing = threading.Event()
        self.kill_at = float("inf")
        self.acked_readings = 0
        self.applications: list[SentApplication] = []
        self.texts_sent: set[str] = set()
        self.in_flight = 0  # sent before the kill, no answer: the outcome is unknown
        self.refused = 0  # sent after the kill
        self.unexpected: list[str] = []

    def failed(self, started: float, what: str) -> bool:
        """A request failed; True ends the worker. Before the kill a failure is a finding."""
        with self.lock:
            if self.killing.is_set():
                if started < self.kill_at:
                    self.in_flight += 1
                else:
                    self.refused += 1
                return True
            self.unexpected.append(what)
            return len(self.unexpected) > 20  # something is badly wrong: stop hammering


def a_file(n: int) -> tuple[str, bytes, str]:
    """A small PNG or PDF (the server sniffs the first bytes) with random content."""
    body = secrets.token_bytes(1024 + secrets.randbelow(16 * 1024))
    if n % 3 == 2:
        return (f"скан-{n}.pdf", b"%PDF-1.4\n" + body, "application/pdf")
    return (f"акт-{n}.png", b"\x89PNG\r\n\x1a\n" + body, "image/png")


def readings_worker(customer: Customer, load: Load) -> None:
    n = 0
    while True:
        meter = customer.meters[n % len(customer.meters)]
        n += 1
        value = meter.next_value()
        started = time.monotonic()
        try:
            response = customer.api.request(
                "POST", f"/meters/{meter.meter_id}/readings",
                json={"value": f"{value:.3f}"}, timeout=15,
            )
        except requests.RequestException as error:
            if load.failed(started, f"reading: {type(error).__name__}"):
                return
            continue
        if response.status_code == 201:
            body = response.json()
            if Decimal(body["value"]) != value:
                load.failed(started, f"reading {value} acknowledged as {body['value']}")
            meter.acked = value
            meter.month = body["billing_month"]
            with load.lock:
                load.acked_readings += 1
        elif load.failed(started, f"reading: {response.status_code} {response.text[:200]}"):
            return


def applications_worker(customer: Customer, load: Load, tag: str) -> None:
    n = 0
    while True:
        n += 1
        meter = customer.meters[n % len(customer.meters)]
        text = f"Системная проверка {tag}: заявление {n} по прибору {meter.meter_id}."
        files = [a_file(n + i) for i in range(1 + n % 2)]
        with load.lock:
            load.texts_sent.add(text)
        started = time.monotonic()
        try:
            response = customer.api.request(
                "POST", f"/meters/{meter.meter_id}/applications",
                data={"text": text},
                files=[("files", f) for f in files],
                timeout=15,
            )
        except requests.RequestException as error:
            if load.failed(started, f"application: {type(error).__name__}"):
                return
            continue
        if response.status_code == 201:
            body = response.json()
            with load.lock:
                load.applications.append(
                    SentApplication(body["id"], meter.meter_id, text, [f[1] for f in files])
                )
        elif load.failed(started,
                         f"application: {response.status_code} {response.text[:200]}"):
            return


def set_up_customers(server: harness.Server, outbox_dir) -> list[Customer]:
    """Billing pushes the accounts; each customer registers, confirms, signs in and links one."""
    key = harness.create_api_key(server.env)
    numbers = harness.account_numbers(CUSTOMERS)
    harness.push_accounts(
        server.url, key, [harness.billing_account(n, METERS_PER_ACCOUNT) for n in numbers]
    )

    def one(number: str) -> Customer:
        outbox = harness.FileOutbox(outbox_dir)
        api = harness.signed_in_customer(server.url, outbox)
        account_id = api.link_account(number, "500,00", outbox)
        meters = [MeterLog(m["id"]) for m in api.meters(account_id)]
        return Customer(api, meters)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(one, numbers))


def settled_outbox(server: harness.Server, timeout: float = 30) -> float | None:
    """Waits until the sender has nothing left it can send: the pending count is 0 or has not
    moved for 3 s. Returns that count."""
    last, since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = harness.metric(server.url, "lk_outbox_pending_messages")
        if pending == 0:
            return pending
        if pending != last:
            last, since = pending, time.monotonic()
        elif time.monotonic() - since >= 3:
            return pending
        time.sleep(0.25)
    return last


def check_application_mail(report, name, database_url, restarted, acked_apps) -> None:
    """The copy of an application to the customer is queued in the transaction that files it:
    every acknowledged application has exactly one, and the restarted sender sends them all
    except what the killed sender had claimed (such a claim expires after two minutes)."""
    pending = settled_outbox(restarted)
    rows = harness.query(
        database_url,
        "SELECT sent_at IS NOT NULL, COALESCE(locked_until, 0), body_text FROM outbox "
        "WHERE subject LIKE 'Заявление по прибору учета%'",
    )
    copies: dict[int, list[tuple[bool, int]]] = {}
    for sent, locked_until, body in rows:
        for found in set(re.findall(r"/applications/(\d+)\b", body)):
            copies.setdefault(int(found), []).append((sent == "1", int(locked_until)))
    not_once = [f"application {a.id}: {len(copies.get(a.id, []))} copies queued"
                for a in acked_apps if len(copies.get(a.id, [])) != 1]
    report.check(f"{name}: every acknowledged application has its e-mail copy in the outbox",
                 bool(acked_apps) and not not_once,
                 harness.detail(f"{len(acked_apps)} applications", not_once))
    now = time.time()
    unsent = [(app_id, locked) for app_id, rows_of in copies.items()
              for sent, locked in rows_of if not sent]
    stuck = [f"application {i}" for i, locked in unsent if locked <= now]
    report.check(f"{name}: the restarted server sent every copy the killed one had not claimed",
                 not stuck, harness.detail(f"{len(stuck)} unsent and unclaimed", stuck))
    report.note(f"{name}: {len(rows)} application copies queued, {len(rows) - len(unsent)} "
                f"sent after the restart settled, {len(unsent)} still locked by the killed "
                f"sender (outbox pending {pending})")


def crash_once(report: harness.Report, backend: str) -> None:
    name = f"crash[{backend}]"
    data_dir = harness.temp_dir(f"crash-{backend}")
    database_url = harness.create_pg_database() if backend == "postgres" else None
    env = harness.base_env(data_dir, database_url, **RELAXED_LIMITS)
    server = harness.Server(env, name="lk").start()

    customers = set_up_customers(server, data_dir)
    meters = [m for c in customers for m in c.meters]

    # The load: per customer one thread of readings and one of applications.
    load = Load()
    tag = harness.random_hex(3)
    workers = []
    for customer in customers:
        workers.append(threading.Thread(target=readings_worker, args=(customer, load), daemon=True))
        workers.append(
            threading.Thread(target=applications_worker, args=(customer, load, tag), daemon=True)
        )
    started = time.monotonic()
    for worker in workers:
        worker.start()
    time.sleep(random.uniform(*KILL_BETWEEN))
    with load.lock:
        load.kill_at = time.monotonic()
        load.killing.set()
    status = server.kill()
    load_seconds = load.kill_at - started
    for worker in workers:
        worker.join(timeout=30)
    acked_apps = list(load.applications)

    report.check(f"{name}: server killed with SIGKILL under load", status == -9,
                 f"exit status {status}")
    report.note(
        f"{name}: {load_seconds:.1f} s of load from {len(workers)} threads, then kill -9: "
        f"{load.acked_readings} readings and {len(acked_apps)} applications acknowledged, "
        f"{load.in_flight} requests in flight, {load.refused} refused after it"
    )
    report.check(f"{name}: no request failed before the kill", not load.unexpected,
                 harness.detail(f"{len(load.unexpected)} failed", load.unexpected))
    report.check(f"{name}: the kill hit requests in flight", load.in_flight > 0,
                 f"{load.in_flight} in flight")

    # Restart on the same database (a new port: the old one may linger in TIME_WAIT).
    restarted = harness.Server(env, name="lk-restarted").start()
    for customer in customers:
        customer.api.base = restarted.url

    # Readings: this month's one per meter, one of the values sent, ≥ the last acknowledged.
    lost, foreign, duplicated, ahead, checked = [], [], [], 0, 0
    for customer in customers:
        for meter in customer.meters:
            history = customer.api.expect(200, "GET", f"/meters/{meter.meter_id}/readings").json()
            month = meter.month or (history[0]["billing_month"] if history else None)
            this_month = [r for r in history if r["billing_month"] == month]
            if len(this_month) > 1:
                duplicated.append(f"meter {meter.meter_id}: {len(this_month)} readings in {month}")
            stored = Decimal(this_month[0]["value"].replace(",", ".")) if this_month else None
            if stored is not None and stored not in meter.sent:
                foreign.append(f"meter {meter.meter_id}: {stored} was never sent")
            if meter.acked is not None:
                checked += 1
                if stored is None or stored < meter.acked:
                    lost.append(f"meter {meter.meter_id}: acknowledged {meter.acked}, "
                                f"stored {stored}")
                elif stored > meter.acked:
                    ahead += 1  # a reading in flight at the kill was committed: allowed
    report.check(f"{name}: every acknowledged reading survived",
                 checked > 0 and not lost, harness.detail(f"{checked} meters checked", lost))
    report.check(f"{name}: stored readings are values that were sent, one per meter and month",
                 not foreign and not duplicated,
                 harness.detail(f"{len(meters)} meters", foreign + duplicated))
    report.note(f"{name}: {checked} of {len(meters)} meters had an acknowledged reading; "
                f"{ahead} hold a later value whose answer the kill cut off")

    # Applications: each acknowledged one by id, with its text and its files byte for byte.
    missing, different = [], []
    for app in acked_apps:
        owner = next(c for c in customers if any(m.meter_id == app.meter_id for m in c.meters))
        response = owner.api.request("GET", f"/applications/{app.id}")
        if response.status_code != 200:
            missing.append(f"application {app.id}: {response.status_code}")
            continue
        body = response.json()
        if body["text"] != app.text or body["meter_id"] != app.meter_id:
            different.append(f"application {app.id}: {harness.dump(body)}")
            continue
        if len(body["files"]) != len(app.files):
            different.append(f"application {app.id}: {len(body['files'])} files, "
                             f"sent {len(app.files)}")
            continue
        for meta, sent in zip(body["files"], app.files):
            got = owner.api.session.get(restarted.url + meta["url"], timeout=30,
                                        headers={"Authorization": f"Bearer {owner.api.access}"})
            if got.status_code != 200 or got.content != sent:
                different.append(f"application {app.id}: file {meta['id']} differs "
                                 f"({got.status_code}, {len(got.content)} of {len(sent)} bytes)")
    report.check(f"{name}: every acknowledged application survived with its files",
                 bool(acked_apps) and not missing and not different,
                 harness.detail(f"{len(acked_apps)} checked", missing + different))

    # Nothing half-written either: whatever is listed is an application that was sent.
    listed = 0
    strangers = []
    for customer in customers:
        for item in customer.api.expect(200, "GET", "/applications").json():
            listed += 1
            if item["text"] not in load.texts_sent:
                strangers.append(f"application {item['id']}: {item['text'][:60]}")
    report.check(f"{name}: the applications listed after the restart are the ones sent",
                 listed >= len(acked_apps) and not strangers,
                 harness.detail(f"{listed} listed, {len(acked_apps)} acknowledged", strangers))

    check_application_mail(report, name, env["DATABASE_URL"], restarted, acked_apps)

    # And the restarted server takes new work on the same data.
    customer, meter = customers[0], customers[0].meters[0]
    value = max(meter.sent) + STEP
    after = customer.api.request("POST", f"/meters/{meter.meter_id}/readings",
                                 json={"value": f"{value:.3f}"})
    report.check(f"{name}: the restarted server takes readings", after.status_code == 201,
                 f"{after.status_code} {after.text[:200]}")
    restarted.stop()


def run(report: harness.Report) -> None:
    for backend in ("sqlite", "postgres"):
        try:
            crash_once(report, backend)
        except Exception as error:
            report.check(f"crash[{backend}]: ran to the end", False,
                         f"{type(error).__name__}: {error}")
        finally:
            harness.cleanup_all()
