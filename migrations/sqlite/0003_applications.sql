-- Applications (заявления) about a meter, their attached files (kept in the database so every
-- instance serves them), and the audit log of operators' corrections of meter data.

CREATE TABLE applications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    meter_id     INTEGER NOT NULL REFERENCES meters (id) ON DELETE CASCADE,
    text         TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('new', 'in_progress', 'answered', 'closed')),
    operator_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    answer       TEXT,
    answered_at  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX applications_user ON applications (user_id, created_at);
CREATE INDEX applications_queue ON applications (status, created_at);

CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id  INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    file_name       TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    data            BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX attachments_application ON attachments (application_id);

CREATE TABLE meter_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    meter_id        INTEGER NOT NULL REFERENCES meters (id) ON DELETE CASCADE,
    operator_id     INTEGER NOT NULL REFERENCES users (id),
    application_id  INTEGER REFERENCES applications (id) ON DELETE SET NULL,
    field           TEXT    NOT NULL,
    old_value       TEXT,
    new_value       TEXT,
    changed_at      INTEGER NOT NULL
);
CREATE INDEX meter_changes_meter ON meter_changes (meter_id, changed_at);
