"""Contract fuzzing (issue #7, item 1): schemathesis against the OpenAPI document the server
serves, as a customer, as an operator and with an integrator's API key. Its checks: no 5xx,
every status, content type, header and body as documented, invalid input refused, auth
enforced where the document says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import harness

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
# The operations that end sessions run last, on a session of their own: in the other runs
# they would end the very session being tested.
ENDING_SESSIONS = "^/api/v1/(auth/logout|me/sessions)"
DEMO_OPERATOR = ("operator@lk.tplus58.ru", "Оператор-Демо-2024")


def schemathesis() -> str:
    # Installed next to the interpreter that runs the suites (the venv of xtask).
    return str(Path(sys.executable).with_name("schemathesis"))


def run(report: harness.Report) -> None:
    data_dir = harness.temp_dir("contract")
    # Lifted limits: the fuzzer sends thousands of requests from one address; 429 is
    # documented anyway, but it would hide the operations behind it.
    env = harness.base_env(data_dir, RATE_LIMIT_MAIL_PER_IP="1000000/60m",
                           RATE_LIMIT_LOGIN_PER_IP="1000000/15m")
    harness.lk_cli(env, "demo")
    api_key = harness.create_api_key(env)
    server = harness.Server(env, "contract").start()
    outbox = harness.FileOutbox(data_dir)

    customer = harness.signed_in_customer(server.url, outbox)
    customer.link_account("720000032", "500.00", outbox)
    operator = harness.Api(server.url)
    operator.login(*DEMO_OPERATOR)
    second = harness.Api(server.url)
    second.login(customer.email)

    examples = os.environ.get("CONTRACT_EXAMPLES", "100")
    runs = [
        ("customer", customer, customer.access, ["--exclude-path-regex", ENDING_SESSIONS]),
        ("operator", operator, operator.access, ["--exclude-path-regex", ENDING_SESSIONS]),
        ("API key", None, api_key, ["--exclude-path-regex", ENDING_SESSIONS]),
        ("customer ending sessions", None, second.access, ["--include-path-regex", ENDING_SESSIONS]),
    ]
    # One worker: with several, hypothesis parses lambda sources from threads at once, which
    # CPython 3.11 can fail with "AST constructor recursion depth mismatch".
    for role, user, token, selection in runs:
        print(f"-- schemathesis as {role} ({examples} examples per operation)", flush=True)
        result = subprocess.run([
            schemathesis(), "run", f"{server.url}/openapi.json", "--checks", CHECKS,
            "--header", f"Authorization: Bearer {token}", "--max-examples", examples,
            "--seed", "1", "--workers", "1", "--no-color", "--suppress-health-check", "all",
            "--generation-database", "none", *selection,
        ], capture_output=True, text=True, cwd=data_dir)
        summary = [line for line in result.stdout.splitlines()
                   if "generated" in line or line.startswith("=")]
        if result.returncode != 0:
            print(result.stdout[-20000:], result.stderr[-5000:], sep="\n")
        report.check(f"contract: schemathesis as {role}", result.returncode == 0,
                     " ".join(summary[-2:]).strip("= "))
        if user is not None:
            # Nothing in the run may have ended the session it ran with.
            status = user.request("GET", "/me").status_code
            report.check(f"contract: the {role}'s session survived the run", status == 200,
                         f"GET /me answered {status}")
