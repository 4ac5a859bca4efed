-- Personal accounts (лицевые счета) from billing, their links to users, meters, readings,
-- the export sequence, and integrators' API keys. Money in kopecks, readings in thousandths,
-- dates as ISO 'YYYY-MM-DD' text, billing months as 'YYYY-MM'.

CREATE TABLE personal_accounts (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    number                TEXT    NOT NULL UNIQUE,
    address               TEXT    NOT NULL DEFAULT '',
    last_payment_kopecks  INTEGER,
    last_payment_date     TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- Several users may link one account (family members); a link is pending until its e-mailed
-- activation link is used. One active link per user is the current account.
CREATE TABLE account_links (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id    INTEGER NOT NULL REFERENCES personal_accounts (id) ON DELETE CASCADE,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'active')),
    is_current    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    activated_at  INTEGER,
    UNIQUE (user_id, account_id)
);
CREATE INDEX account_links_account ON account_links (account_id);

CREATE TABLE meters (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES personal_accounts (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('hot_water', 'cold_water', 'heating')),
    serial_number      TEXT    NOT NULL,
    place              TEXT    NOT NULL DEFAULT '',
    installed_on       TEXT,
    last_verification  TEXT,
    next_verification  TEXT,
    whole_digits       INTEGER NOT NULL DEFAULT 5,
    decimals           INTEGER NOT NULL DEFAULT 3,
    monthly_limit      INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- One reading per meter and billing month counts: a later submission replaces the row. Readings
-- from customers and operators get an export sequence number when saved, so integrators can
-- take them in commit order after a cursor without gaps.
CREATE TABLE readings (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    meter_id               INTEGER NOT NULL REFERENCES meters (id) ON DELETE CASCADE,
    billing_month          TEXT    NOT NULL,
    value                  INTEGER NOT NULL,
    taken_on               TEXT    NOT NULL,
    source                 TEXT    NOT NULL CHECK (source IN ('customer', 'operator', 'billing')),
    status                 TEXT    NOT NULL CHECK (status IN ('sent', 'accepted', 'rejected')),
    reason                 TEXT,
    submitted_by           INTEGER REFERENCES users (id) ON DELETE SET NULL,
    consumption            INTEGER,
    rollover               INTEGER NOT NULL DEFAULT 0,
    confirmed_implausible  INTEGER NOT NULL DEFAULT 0,
    export_seq             INTEGER UNIQUE,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (meter_id, billing_month)
);

CREATE TABLE counters (
    name   TEXT    PRIMARY KEY,
    value  INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('reading_export', 0);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    key_hash    TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
