-- Only readings numbered for export have an `export_seq`; those from billing (nearly all rows
-- after an import) never get one. A plain UNIQUE kept an index entry for every one of them, a
-- third of the work of a bulk import; a partial index keeps the numbered ones only, which is all
-- the export reads (`export_seq > cursor` implies NOT NULL) and all the uniqueness needs.
-- SQLite cannot drop a column's UNIQUE, so the table is rebuilt with the same rows and ids.
CREATE TABLE readings_rebuilt (
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
    export_seq             INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (meter_id, billing_month)
);
INSERT INTO readings_rebuilt (id, meter_id, billing_month, value, taken_on, source, status,
    reason, submitted_by, consumption, rollover, confirmed_implausible, export_seq, created_at,
    updated_at)
SELECT id, meter_id, billing_month, value, taken_on, source, status, reason, submitted_by,
    consumption, rollover, confirmed_implausible, export_seq, created_at, updated_at
FROM readings;
DROP TABLE readings;
ALTER TABLE readings_rebuilt RENAME TO readings;
CREATE UNIQUE INDEX readings_export_seq ON readings (export_seq) WHERE export_seq IS NOT NULL;
CREATE INDEX readings_export_pending ON readings (updated_at, id)
    WHERE export_seq IS NULL AND source <> 'billing';
