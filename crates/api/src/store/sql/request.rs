//! The SQL of [`RequestReads`](crate::store::RequestReads) and
//! [`HotWrites`](crate::store::HotWrites), shared by both backends: SQLite runs it through
//! rusqlite, PostgreSQL through sqlx. Parameters are `$1`, `$2`, …, which SQLite takes as names.

use super::{meter_columns, select_meters, select_readings};

pub const USER_IN_SESSION: &str = "SELECT u.id, u.email, u.full_name, u.phone, \
    u.password_hash, u.role, u.email_confirmed_at, u.token_version, u.created_at \
    FROM users u JOIN sessions s ON s.user_id = u.id \
    WHERE u.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3";

pub const ACCOUNTS_OF_USER: &str = "SELECT a.id, a.number, a.address, l.status, \
    l.is_current, l.created_at, l.activated_at \
    FROM account_links l JOIN personal_accounts a ON a.id = l.account_id \
    WHERE l.user_id = $1 ORDER BY l.created_at, a.id";

pub const ACCOUNT_OF_USER: &str = "SELECT a.id, a.number, a.address, a.last_payment_kopecks, \
    a.last_payment_date \
    FROM personal_accounts a JOIN account_links l ON l.account_id = a.id \
    WHERE a.id = $1 AND l.user_id = $2 AND l.status = 'active'";

pub const METERS_OF_USER_ACCOUNT: &str = concat!(
    select_meters!(),
    " JOIN account_links l ON l.account_id = m.account_id \
     WHERE m.account_id = $1 AND l.user_id = $2 AND l.status = 'active' \
     ORDER BY m.name, m.id"
);

pub const METER_OF_USER: &str = concat!(
    select_meters!(),
    " JOIN account_links l ON l.account_id = m.account_id \
     WHERE m.id = $1 AND l.user_id = $2 AND l.status = 'active'"
);

/// `METER_OF_USER` with what a submission in month `$3` is decided against: the latest reading
/// of an earlier month, and the meter's revision.
pub const METER_FOR_SUBMISSION: &str = concat!(
    "SELECT ",
    meter_columns!(),
    ", p.value AS previous_value, p.taken_on AS previous_taken_on, m.revision \
     FROM meters m JOIN account_links l ON l.account_id = m.account_id \
     LEFT JOIN readings p ON p.id = (SELECT q.id FROM readings q \
       WHERE q.meter_id = m.id AND q.billing_month < $3 ORDER BY q.billing_month DESC LIMIT 1) \
     WHERE m.id = $1 AND l.user_id = $2 AND l.status = 'active'"
);

// A submitted reading saved: `$1` meter, `$2` billing month, `$3` value, `$4` date taken, `$5`
// source, `$6` submitted by, `$7` consumption, `$8` rollover, `$9` confirmed implausible, `$10`
// now; `$11` the meter's revision it was decided at. The reading of its month is replaced.
macro_rules! next_revision {
    () => {
        "UPDATE meters SET revision = revision + 1 WHERE id = $1 AND revision = $11"
    };
}
macro_rules! insert_submitted {
    () => {
        "INSERT INTO readings (meter_id, billing_month, value, taken_on, source, status, \
         submitted_by, consumption, rollover, confirmed_implausible, export_seq, created_at, \
         updated_at) "
    };
}
macro_rules! submitted_values {
    () => {
        "$1, $2, $3, $4, $5, 'sent', $6, $7, $8, $9, NULL, $10, $10"
    };
}
macro_rules! replacing_the_months_reading {
    () => {
        " ON CONFLICT (meter_id, billing_month) DO UPDATE SET \
         value = excluded.value, taken_on = excluded.taken_on, source = excluded.source, \
         status = 'sent', reason = NULL, submitted_by = excluded.submitted_by, \
         consumption = excluded.consumption, rollover = excluded.rollover, \
         confirmed_implausible = excluded.confirmed_implausible, export_seq = NULL, \
         updated_at = excluded.updated_at \
         RETURNING id, meter_id, billing_month, value, taken_on, source, status, reason, \
         consumption, rollover, updated_at"
    };
}

/// SQLite, in one unit of work: moves the meter to its next revision if it is still at `$11`…
pub const NEXT_REVISION: &str = next_revision!();
/// …and if it was, saves the reading.
pub const SAVE_READING: &str = concat!(
    insert_submitted!(),
    "VALUES (",
    submitted_values!(),
    ")",
    replacing_the_months_reading!()
);

/// PostgreSQL, both in one statement with no transaction around it: the UPDATE holds the meter's
/// row until the statement ends, and one waiting for that row finds the revision moved on once
/// it gets it, and so saves nothing.
pub const SAVE_READING_IF_UNCHANGED: &str = concat!(
    "WITH meter AS (",
    next_revision!(),
    " RETURNING id) ",
    insert_submitted!(),
    "SELECT ",
    submitted_values!(),
    " FROM meter",
    replacing_the_months_reading!()
);

pub const RECENT_READINGS: &str = concat!(
    select_readings!(),
    " JOIN meters m ON m.id = r.meter_id \
     WHERE m.account_id = $1 AND (r.billing_month = $2 OR r.billing_month = \
       (SELECT MAX(p.billing_month) FROM readings p \
        WHERE p.meter_id = r.meter_id AND p.billing_month < $2))"
);

pub const READINGS_OF_METER: &str = concat!(
    select_readings!(),
    " WHERE r.meter_id = $1 ORDER BY r.billing_month DESC"
);

pub const USER_BY_EMAIL: &str = "SELECT id, email, full_name, phone, password_hash, role, \
    email_confirmed_at, token_version, created_at FROM users WHERE email = $1";

/// One event for key `$1` at `$2` in its window of `$3` seconds: a window that has passed starts
/// again at this event.
pub const COUNT_HIT: &str = "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
    ON CONFLICT (key) DO UPDATE SET \
      count = CASE WHEN rate_limits.window_start <= $2 - $3 THEN 1 \
                   ELSE rate_limits.count + 1 END, \
      window_start = CASE WHEN rate_limits.window_start <= $2 - $3 \
                   THEN $2 ELSE rate_limits.window_start END \
    RETURNING count, window_start";

pub const FORGIVE_HIT: &str =
    "UPDATE rate_limits SET count = count - 1 WHERE key = $1 AND count > 0";

pub const RESET_HITS: &str = "DELETE FROM rate_limits WHERE key = $1";

pub const INSERT_SESSION: &str = "INSERT INTO sessions (user_id, remember, created_at, \
    last_seen_at, expires_at, user_agent, ip) VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id";

pub const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)";
