"""Several instances (SPEC: "the API is stateless apart from the database, so it scales out on
PostgreSQL"): two `lk serve` on one PostgreSQL database behind nginx (round-robin), with the
same JWT_SECRET, TRUST_PROXY=true and one SMTP receiver.

- a session started on instance A works on instance B (access token and refresh cookie);
- every e-mail is sent exactly once although both instances run the sender;
- the failed-login limit holds across both: 429 at the same count as on one instance;
- a SIGKILL of one instance under load fails at most the requests in flight to it, and every
  request started after the kill succeeds.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

import harness

LOGIN_LIMIT = 5
LOGIN_BURST = 20
REGISTRATIONS = 30
LOAD_THREADS = 8
LOAD_BEFORE_KILL = 3.0
LOAD_AFTER_KILL = 4.0


def upstream_counts(nginx: harness.Nginx, method: str | None, uri_prefix: str, servers) -> Counter:
    """How many logged requests each instance served (by its port; `-` if none did)."""
    names = {f"127.0.0.1:{s.port}": s.name for s in servers}
    counts = Counter()
    for fields in nginx.log_lines():
        if len(fields) >= 4 and method in (None, fields[0]) and fields[1].startswith(uri_prefix):
            # `$upstream_addr` lists every server tried, e.g. "B, A" after a failover.
            last = fields[3].split(",")[-1].strip()
            counts[names.get(last, last)] += 1
    return counts


def check_session_across_instances(report, nginx, a, b, receiver) -> None:
    address = f"session-{harness.random_hex(5)}@mail.ru"
    via_proxy = harness.Api(nginx.url)
    via_proxy.register(address)
    letter = receiver.wait_for(address, "Подтверждение регистрации", timeout=60)
    via_proxy.confirm_email(letter.token("/confirm-email"))

    on_a = harness.Api(a.url)
    access = on_a.login(address)
    cookie = on_a.refresh_cookie()
    me_on_b = requests.get(f"{b.url}/api/v1/me", headers={"Authorization": f"Bearer {access}"},
                           timeout=10)
    report.check("instances: an access token from A works on B (GET /me)",
                 me_on_b.status_code == 200 and me_on_b.json().get("email") == address,
                 f"{me_on_b.status_code} {me_on_b.text[:200]}")

    refreshed = requests.post(f"{b.url}/api/v1/auth/refresh", cookies={"lk_refresh": cookie or ""},
                              timeout=10)
    rotated = refreshed.cookies.get("lk_refresh")
    ok = refreshed.status_code == 200 and bool(rotated) and rotated != cookie
    report.check("instances: the refresh cookie from A is taken and rotated by B", ok,
                 f"{refreshed.status_code} {refreshed.text[:200]}")
    if ok:
        new_access = refreshed.json()["access_token"]
        me_on_a = requests.get(f"{a.url}/api/v1/me",
                               headers={"Authorization": f"Bearer {new_access}"}, timeout=10)
        report.check("instances: the access token B issued works on A", me_on_a.status_code == 200,
                     f"{me_on_a.status_code}")
        # The rotation is shared state: A knows the old cookie is spent.
        replay = requests.post(f"{a.url}/api/v1/auth/refresh", cookies={"lk_refresh": cookie},
                               timeout=10)
        report.check("instances: A refuses the refresh cookie B already rotated",
                     replay.status_code == 401, f"{replay.status_code} {replay.text[:200]}")


def check_mail_sent_once(report, nginx, a, b, receiver) -> list[str]:
    """30 registrations through nginx: exactly 30 messages. Returns the addresses."""
    addresses = [f"once-{harness.random_hex(5)}@mail.ru" for _ in range(REGISTRATIONS)]
    before = upstream_counts(nginx, "POST", "/api/v1/auth/register", [a, b])
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda addr: harness.Api(nginx.url).register(addr), addresses))
    spread = upstream_counts(nginx, "POST", "/api/v1/auth/register", [a, b]) - before
    report.check("instances: nginx spread the registrations over both instances",
                 spread[a.name] > 0 and spread[b.name] > 0, str(dict(spread)))

    started = time.monotonic()
    arrived = harness.wait_until(
        lambda: all(receiver.find(addr, "Подтверждение регистрации") for addr in addresses),
        90, 0.1)
    took = time.monotonic() - started
    time.sleep(5)  # both senders poll every 2 s: a duplicate would show up by now
    mails = [m for m in receiver.messages() if m.recipients[0] in set(addresses)]
    per_recipient = Counter(m.recipients[0] for m in mails)
    ids = Counter(m.message_id for m in mails)
    report.check(
        f"instances: {REGISTRATIONS} registrations → exactly {REGISTRATIONS} e-mails, none twice",
        bool(arrived) and len(mails) == REGISTRATIONS
        and set(per_recipient) == set(addresses) and max(per_recipient.values()) == 1
        and len(ids) == REGISTRATIONS and all(ids),
        f"{len(mails)} messages, {len(ids)} distinct Message-IDs, "
        f"most to one address {max(per_recipient.values(), default=0)}",
    )
    report.note(f"instances: registrations served {dict(spread)}; "
                f"{len(mails)} e-mails for {REGISTRATIONS} registrations, "
                f"all delivered {took:.1f} s after the last answer")
    return addresses


def failed_logins_until_429(base: str, address: str, limit: int = 20) -> tuple[int | None, list]:
    """Wrong passwords until the answer is 429; the attempt (from 1) that got it."""
    statuses = []
    for attempt in range(1, limit + 1):
        response = requests.post(f"{base}/api/v1/auth/login", timeout=30,
                                 json={"email": address, "password": "Неверный-пароль-1"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            return attempt, statuses
    return None, statuses


def check_login_limit(report, nginx, a, b, receiver, address: str) -> None:
    # The reference: one instance alone, for an address of its own.
    single, single_statuses = failed_logins_until_429(a.url, f"ref-{harness.random_hex(5)}@mail.ru")
    before = upstream_counts(nginx, "POST", "/api/v1/auth/login", [a, b])
    both, both_statuses = failed_logins_until_429(nginx.url, address)
    after = upstream_counts(nginx, "POST", "/api/v1/auth/login", [a, b])
    served = {s.name: after[s.name] - before[s.name] for s in (a, b)}
    report.check(
        f"instances: failed logins through nginx get 429 at the same attempt as on one "
        f"instance ({LOGIN_LIMIT}/15m → attempt {LOGIN_LIMIT + 1})",
        single == LOGIN_LIMIT + 1 and both == single and min(served.values()) > 0,
        f"one instance: {single_statuses}; through nginx: {both_statuses}, served {served}",
    )
    # The limit must hold for a burst too: an attacker sends the guesses at once, and the
    # two instances take them in parallel. Only LOGIN_LIMIT of them may be checked (401).
    burst_address = f"burst-{harness.random_hex(5)}@mail.ru"
    with ThreadPoolExecutor(max_workers=LOGIN_BURST) as pool:
        statuses = list(pool.map(
            lambda _: requests.post(f"{nginx.url}/api/v1/auth/login", timeout=60, json={
                "email": burst_address, "password": "Неверный-пароль-1"}).status_code,
            range(LOGIN_BURST)))
    tally = Counter(statuses)
    report.check(
        f"instances: {LOGIN_BURST} concurrent failed logins for one account are held to the "
        f"limit (at most {LOGIN_LIMIT} checked, the rest 429)",
        tally[401] <= LOGIN_LIMIT and tally[401] + tally[429] == LOGIN_BURST,
        f"answers {dict(tally)}",
    )

    # The lock is shared: the right password is refused on either instance now.
    locked = [
        requests.post(f"{s.url}/api/v1/auth/login", timeout=30,
                      json={"email": address, "password": harness.PASSWORD}).status_code
        for s in (a, b)
    ]
    report.check("instances: the locked account is locked on both instances",
                 locked == [429, 429], f"A: {locked[0]}, B: {locked[1]}")


def check_kill_under_load(report, nginx, a, b, receiver) -> None:
    key = harness.create_api_key(a.env)
    number = harness.account_numbers(1)[0]
    harness.push_accounts(nginx.url, key, [harness.billing_account(number, 3)])
    customer = harness.signed_in_customer(nginx.url, receiver)
    account_id = customer.link_account(number, "500.00", receiver)
    meter_ids = [m["id"] for m in customer.meters(account_id)]
    # Each signing-in thread has a customer of its own. A login counts as a failed attempt from
    # its start until its password matches (so guesses sent at once are all counted), and one
    # inside B when it dies stays counted: per account, that is at most one per thread, well
    # under the limit, as it would be for real customers.
    signing_in = {n: harness.signed_in_customer(nginx.url, receiver).email
                  for n in range(0, LOAD_THREADS, 2)}

    results: list[tuple[float, float, bool, str]] = []  # (start, end, ok, what)
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(1, 10**9))

    def worker(n: int) -> None:
        # Half the threads sign in (slow: a password hash each), so that some requests are
        # inside an instance at any moment, not only on the wire; the others read and submit.
        api = harness.Api(nginx.url, timeout=30)
        api.access = customer.access
        i = n
        while not stop.is_set():
            i += 1
            if n % 2 == 0:
                what = ("POST", "/auth/login", {"token": "", "json": {
                    "email": signing_in[n], "password": harness.PASSWORD}}, 200)
            elif i % 3 == 0:
                with lock:
                    value = f"{next(counter) / 1000:.3f}"
                what = ("POST", f"/meters/{meter_ids[i % len(meter_ids)]}/readings",
                        {"json": {"value": value}}, 201)
            elif i % 3 == 1:
                what = ("GET", "/me", {}, 200)
            else:
                what = ("GET", f"/accounts/{account_id}/meters", {}, 200)
            method, path, kwargs, expected = what
            started = time.monotonic()
            try:
                status = api.request(method, path, **kwargs).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            with lock:
                results.append((started, time.monotonic(), status == expected,
                                f"{method} {path} → {status}"))

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_BEFORE_KILL)
    served_before = upstream_counts(nginx, None, "/api/v1/", [a, b])
    kill_sent = time.monotonic()
    status = b.kill()
    killed = time.monotonic()
    time.sleep(LOAD_AFTER_KILL)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    failures = [r for r in results if not r[2]]
    after = [r for r in results if r[0] >= killed]
    failed_after = [r for r in after if not r[2]]
    failed_early = [r for r in failures if r[1] < kill_sent]  # ended before the kill
    report.check("instances: instance B killed with SIGKILL under load", status == -9 and
                 served_before[b.name] > 0, f"exit status {status}; B had served "
                 f"{served_before[b.name]} requests, A {served_before[a.name]}")
    report.check("instances: no request failed before the kill", not failed_early,
                 harness.detail(f"{len(failed_early)} failed", [r[3] for r in failed_early]))
    report.check(
        f"instances: the kill failed at most the requests in flight (≤ {LOAD_THREADS})",
        len(failures) <= LOAD_THREADS and all(r[0] < killed for r in failures),
        harness.detail(f"{len(failures)} failed", [r[3] for r in failures], shown=8),
    )
    report.check("instances: every request started after the kill succeeded",
                 len(after) > 0 and not failed_after,
                 harness.detail(f"{len(after)} requests, {len(failed_after)} failed",
                                [r[3] for r in failed_after]))
    report.note(f"instances: {len(results)} requests from {LOAD_THREADS} threads through nginx; "
                f"B killed after {LOAD_BEFORE_KILL:.0f} s; {len(failures)} failed "
                f"({', '.join(r[3] for r in failures) or 'none'}); "
                f"{len(after)} started after the kill")


def run(report: harness.Report) -> None:
    database_url = harness.create_pg_database()
    receiver = harness.SmtpReceiver().start()
    port_a, port_b = harness.free_port(), harness.free_port()
    nginx = harness.Nginx([port_a, port_b])
    jwt_secret = harness.random_hex(32)
    servers = []
    for name, port in (("lk-a", port_a), ("lk-b", port_b)):
        # Each instance has a data directory of its own, as on two machines.
        env = harness.base_env(
            harness.temp_dir(name),
            database_url,
            JWT_SECRET=jwt_secret,
            TRUST_PROXY="true",
            MAIL_TRANSPORT="smtp",
            SMTP_URL=receiver.url,
            PUBLIC_BASE_URL=nginx.url,
            RATE_LIMIT_LOGIN_PER_ACCOUNT=f"{LOGIN_LIMIT}/15m",
            # Every request comes from 127.0.0.1 (X-Forwarded-For): the load signs in a lot.
            RATE_LIMIT_LOGIN_PER_IP="100000/15m",
        )
        servers.append(harness.Server(env, name=name, port=port).start())
    a, b = servers
    nginx.start()

    check_session_across_instances(report, nginx, a, b, receiver)
    addresses = check_mail_sent_once(report, nginx, a, b, receiver)

    # A confirmed customer for the login limit: the first of the 30.
    letter = receiver.find(addresses[0], "Подтверждение регистрации")[0]
    harness.Api(nginx.url).confirm_email(letter.token("/confirm-email"))
    check_login_limit(report, nginx, a, b, receiver, addresses[0])

    check_kill_under_load(report, nginx, a, b, receiver)

    # Every message of the whole run, once.
    pairs = Counter((m.message_id, r) for m in receiver.messages() for r in m.recipients)
    twice = [f"{mid} → {r} ×{n}" for (mid, r), n in pairs.items() if n > 1]
    report.check("instances: no e-mail of the run arrived twice", not twice,
                 harness.detail(f"{len(pairs)} messages", twice))
    a.stop()
    nginx.stop()
