"""Mail outage (R5): e-mail queued while the SMTP server is down is sent when it returns,
each message exactly once, and a retried message keeps its Message-ID.

One `lk serve` (SQLite, MAIL_TRANSPORT=smtp) and an aiosmtpd receiver in this process:
1. the receiver is stopped (connection refused) while customers register and file
   applications; the API answers as usual and the sender keeps failing;
2. the receiver comes back on the same port; every queued message must arrive, once;
3. the receiver answers the first DATA of each new recipient with a transient 451 (after
   reading the message); the retry must carry the same Message-ID and be accepted.
"""

from __future__ import annotations

import time
from collections import Counter

import harness

REGISTRATIONS_DURING_OUTAGE = 6
APPLICATIONS_DURING_OUTAGE = 4  # two each from two customers
OUTAGE_SECONDS = 6
DELIVERY_TIMEOUT = 90
FLAKY_REGISTRATIONS = 4

REGISTRATION = "Подтверждение регистрации"
APPLICATION = "Заявление по прибору учета"


def outbox_failures(database_url: str) -> tuple[int, int]:
    """(unsent messages with a failed attempt, the most attempts of one): the API does not
    show the outbox, and this proves the sender really tried during the outage."""
    [[failed, most]] = harness.query(
        database_url,
        "SELECT COUNT(*), COALESCE(MAX(attempts), 0) FROM outbox "
        "WHERE sent_at IS NULL AND last_error IS NOT NULL",
    )
    return int(failed), int(most)


def run(report: harness.Report) -> None:
    data_dir = harness.temp_dir("mail")
    receiver = harness.SmtpReceiver().start()
    env = harness.base_env(
        data_dir,
        MAIL_TRANSPORT="smtp",
        SMTP_URL=receiver.url,
        RATE_LIMIT_MAIL_PER_ADDRESS="1000/1h",
        RATE_LIMIT_APPLICATIONS_PER_USER="1000/1h",
    )
    server = harness.Server(env).start()

    # Two customers with a linked account while mail still works (they need the links).
    key = harness.create_api_key(server.env)
    number = harness.account_numbers(1)[0]
    harness.push_accounts(server.url, key, [harness.billing_account(number, 2)])
    customers = []
    for _ in range(2):
        api = harness.signed_in_customer(server.url, receiver)
        account_id = api.link_account(number, "500.00", receiver)
        customers.append((api, api.meters(account_id)[0]["id"]))
    drained = harness.wait_until(lambda: harness.metric(server.url, "lk_outbox_pending_messages") == 0,
                                 30, 0.2)
    report.check("mail: the outbox is empty before the outage", bool(drained))

    # 1. The outage.
    receiver.stop()
    outage_started = time.monotonic()
    expected: dict[str, str] = {}  # recipient → subject prefix, one message each
    refused = []
    for i in range(REGISTRATIONS_DURING_OUTAGE):
        address = f"outage-{harness.random_hex(5)}@mail.ru"
        try:
            harness.Api(server.url).register(address)
            expected[address] = REGISTRATION
        except harness.ApiError as error:
            refused.append(str(error))
    applications = []
    for i in range(APPLICATIONS_DURING_OUTAGE):
        api, meter_id = customers[i % 2]
        # A form field as a part without a file name: multipart/form-data, as the SPA sends.
        response = api.request("POST", f"/meters/{meter_id}/applications",
                               files=[("text", (None, f"Заявление {i} во время отказа почты."))])
        if response.status_code == 201:
            applications.append((api.email, response.json()["id"]))
        else:
            refused.append(f"application: {response.status_code} {response.text[:200]}")
    report.check("mail: registrations and applications are accepted while SMTP is down",
                 not refused, "; ".join(refused[:3]))

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
    queued = harness.metric(server.url, "lk_outbox_pending_messages")
    want = REGISTRATIONS_DURING_OUTAGE + APPLICATIONS_DURING_OUTAGE
    report.check("mail: every message of the outage waits in the outbox", queued == want,
                 f"lk_outbox_pending_messages = {queued}, expected {want}")
    failed, most_attempts = outbox_failures(env["DATABASE_URL"])
    report.check("mail: the sender tried and failed during the outage", failed > 0,
                 f"{failed} messages with a failed attempt, at most {most_attempts} attempts")

    # 2. SMTP is back on the same port.
    receiver.start()
    back = time.monotonic()

    def all_arrived():
        got = {m.recipients[0] for m in receiver.messages()}
        regs = all(a in got for a in expected)
        apps = sum(1 for m in receiver.messages() if m.subject.startswith(APPLICATION))
        return regs and apps >= len(applications)

    arrived = harness.wait_until(all_arrived, DELIVERY_TIMEOUT, 0.1)
    delay = time.monotonic() - back
    report.check("mail: every message queued during the outage is delivered when SMTP returns",
                 bool(arrived), f"after {delay:.1f} s (timeout {DELIVERY_TIMEOUT} s)")
    report.note(f"mail: outage of {OUTAGE_SECONDS} s with {want} messages queued "
                f"(up to {most_attempts} failed attempts each); all delivered "
                f"{delay:.1f} s after SMTP came back")

    # Anything sent twice would come within a few sender rounds (it polls every 2 s).
    time.sleep(5)
    pending = harness.metric(server.url, "lk_outbox_pending_messages")
    report.check("mail: the outbox is empty afterwards", pending == 0,
                 f"lk_outbox_pending_messages = {pending}")
    counts = {a: len(receiver.find(a, REGISTRATION)) for a in expected}
    report.check("mail: each registration of the outage got exactly one confirmation",
                 all(n == 1 for n in counts.values()),
                 ", ".join(f"{a}: {n}" for a, n in counts.items() if n != 1))
    for_applications = [m for m in receiver.messages() if m.subject.startswith(APPLICATION)]
    report.check("mail: each application copy arrived once", len(for_applications) == len(
        applications), f"{len(for_applications)} received for {len(applications)} applications")

    # The late links still work: the message is the one queued, not a broken copy.
    bad_links = []
    for address in expected:
        letters = receiver.find(address, REGISTRATION)
        try:
            harness.Api(server.url).confirm_email(letters[0].token("/confirm-email"))
        except (harness.ApiError, IndexError) as error:
            bad_links.append(f"{address}: {error}")
    report.check("mail: the confirmation links delivered late work", not bad_links,
                 "; ".join(bad_links[:3]))

    # 3. A transient 451 on the first DATA of each new message: the retry keeps the Message-ID.
    receiver.fail_first = True
    flaky = [f"flaky-{harness.random_hex(5)}@mail.ru" for _ in range(FLAKY_REGISTRATIONS)]
    for address in flaky:
        harness.Api(server.url).register(address)
    started = time.monotonic()
    delivered = harness.wait_until(
        lambda: all(receiver.find(a, REGISTRATION) for a in flaky), DELIVERY_TIMEOUT, 0.1)
    report.check("mail: messages refused with 451 once are delivered on retry", bool(delivered),
                 f"{FLAKY_REGISTRATIONS} messages in {time.monotonic() - started:.1f} s")
    time.sleep(3)
    unstable = []
    for address in flaky:
        tries = [a for a in receiver.attempts if address in a.recipients]
        replies = [a.reply[:3] for a in tries]
        ids = {a.message_id for a in tries}
        if replies != ["451", "250"] or len(ids) != 1 or not next(iter(ids)):
            unstable.append(f"{address}: replies {replies}, Message-IDs {sorted(ids)}")
    report.check("mail: a retried message carries the Message-ID of its first attempt",
                 not unstable,
                 harness.detail(f"{len(unstable)} of {FLAKY_REGISTRATIONS} messages differ", unstable)
                 if unstable else f"{FLAKY_REGISTRATIONS} messages: 451, then 250 with the same ID")

    # Over the whole run: no (Message-ID, recipient) accepted twice, no Message-ID reused.
    accepted = receiver.messages()
    pairs = Counter((m.message_id, r) for m in accepted for r in m.recipients)
    twice = [f"{mid} → {r} ×{n}" for (mid, r), n in pairs.items() if n > 1]
    ids = Counter(m.message_id for m in accepted)
    report.check("mail: every message arrived exactly once (by Message-ID and recipient)",
                 not twice and all(n == 1 for n in ids.values()) and all(ids),
                 harness.detail(f"{len(accepted)} messages, {len(ids)} distinct Message-IDs",
                                twice))
    server.stop()
