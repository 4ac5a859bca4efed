"""Runs the black-box system tests against a built `lk` (issue #7).

    python tests/system/run.py                  # every suite
    python tests/system/run.py crash mail       # some of them

`LK_BIN` names the binary (default `target/debug/lk`); PostgreSQL is expected on
postgres://postgres@127.0.0.1:5432 (`SYSTEM_PG_URL` to change it). Prints a PASS/FAIL line per
check and `N passed, M failed`; the exit code is non-zero when anything failed.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import contract  # noqa: E402
import crash  # noqa: E402
import harness  # noqa: E402
import instances  # noqa: E402
import mail_outage  # noqa: E402

# name → function(report). A new suite is one more entry.
SUITES = {
    "contract": contract.run,
    "crash": crash.run,
    "mail": mail_outage.run,
    "instances": instances.run,
}


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
        return 2
    if not os.path.exists(harness.lk_bin()):
        print(f"no lk binary at {harness.lk_bin()} (set LK_BIN)")
        return 2

    report = harness.Report()
    started = time.monotonic()
    for name in names:
        print(f"== {name}", flush=True)
        suite_started = time.monotonic()
        try:
            SUITES[name](report)
        except Exception as error:
            # A suite that cannot go on is one failed check, with the reason.
            traceback.print_exc()
            report.check(f"{name}: suite ran to the end", False, f"{type(error).__name__}: {error}")
        finally:
            # Each suite's servers, databases and scratch directories go before the next one.
            harness.cleanup_all()
        print(f"== {name} took {time.monotonic() - suite_started:.0f} s", flush=True)

    print()
    if report.figures:
        print("figures:")
        for figure in report.figures:
            print(f"  {figure}")
    print(f"{report.passed} passed, {report.failed} failed "
          f"in {time.monotonic() - started:.0f} s")
    return 1 if report.failed or report.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
