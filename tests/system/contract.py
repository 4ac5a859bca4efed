"""Contract fuzzing: schemathesis against the OpenAPI document the server serves, as a customer,
as an operator and with an integrator's API key. No 5xx, every status and body as documented,
invalid input refused. Run: python tests/system/contract.py (LK_BIN names the `lk` binary)."""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LK = os.environ.get("LK_BIN", os.path.join(ROOT, "target", "debug", "lk"))
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def mailed_token(data_dir, route, address):
    """The token of the newest e-mailed link to `route` sent to `address` (file transport)."""
    for _ in range(100):
        for path in sorted(glob.glob(os.path.join(data_dir, "outbox", "*.eml")), key=os.path.getmtime, reverse=True):
            text = open(path, encoding="utf-8", errors="replace").read()
            if address in text:
                found = re.search(re.escape(route) + r"\?token=([A-Za-z0-9_\-]+)", text)
                if found:
                    return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail with {route} for {address}")


def main():
    data_dir = tempfile.mkdtemp(prefix="lk-contract-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATA_DIR=data_dir, LISTEN_ADDR=f"127.0.0.1:{port}", MAIL_TRANSPORT="file",
               RUST_LOG="warn", RATE_LIMIT_MAIL_PER_IP="100000/60m", RATE_LIMIT_LOGIN_PER_IP="100000/15m")
    subprocess.run([LK, "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    api_key = subprocess.run([LK, "api-key", "create", "--name", "contract"], env=env, check=True,
                             capture_output=True, text=True).stdout.split()[-1]
    server = subprocess.Popen([LK, "serve"], env=env, stdout=open(os.path.join(data_dir, "serve.log"), "w"),
                              stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                if call(base, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        email, password = "contract@mail.ru", "Тёплый-дом-2024"
        status, _ = call(base, "POST", "/api/v1/auth/register", {
            "email": email, "full_name": "Контрактов Кирилл", "phone": "79876543210",
            "password": password, "password_confirmation": password, "consent": True})
        assert status == 202, status
        assert call(base, "POST", "/api/v1/auth/confirm-email",
                    {"token": mailed_token(data_dir, "/confirm-email", email)})[0] == 200
        customer = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": password})[1]["access_token"]
        assert call(base, "POST", "/api/v1/accounts", {"number": "720000032", "last_payment_amount": "500.00"},
                    customer)[0] == 202
        assert call(base, "POST", "/api/v1/accounts/confirm",
                    {"token": mailed_token(data_dir, "/accounts/confirm", email)})[0] == 200
        operator = call(base, "POST", "/api/v1/auth/login",
                        {"email": "operator@lk.tplus58.ru", "password": "Оператор-Демо-2024"})[1]["access_token"]

        # The operations that end sessions run last, on a session of their own: in the other
        # runs they would end the very session being tested.
        ending = ["--include-path-regex", "^/api/v1/(auth/logout|me/sessions)"]
        keeping = ["--exclude-path-regex", "^/api/v1/(auth/logout|me/sessions)"]
        second = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": password})[1]["access_token"]
        runs = [("customer", customer, keeping), ("operator", operator, keeping), ("api key", api_key, keeping),
                ("customer ending sessions", second, ending)]
        failed = []
        for role, token, selection in runs:
            print(f"\n==> schemathesis as {role}", flush=True)
            run = subprocess.run([
                SCHEMATHESIS, "run", base + "/openapi.json", "--checks", CHECKS,
                "--header", f"Authorization: Bearer {token}",
                "--max-examples", os.environ.get("CONTRACT_EXAMPLES", "100"),
                "--seed", "1", "--workers", "2", "--no-color", "--suppress-health-check", "all", *selection,
            ], env=env)
            if run.returncode != 0:
                failed.append(role)
            # Nothing in the run may have ended the session it ran with.
            if role in ("customer", "operator") and call(base, "GET", "/api/v1/me", token=token)[0] != 200:
                print(f"the {role}'s session did not survive the run")
                failed.append(role)
        print(f"\ncontract: {len(runs) - len(failed)} passed, {len(failed)} failed {failed}")
        return 1 if failed else 0
    finally:
        server.kill()
        server.wait()
        if os.environ.get("KEEP"):
            print("kept", data_dir)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
