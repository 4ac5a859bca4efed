-- A submission is decided against the meter and its previous reading as read, then saved only if
-- neither changed meanwhile: every change to a meter's data or readings made by others raises its
-- `revision`, and the save raises it too, on the condition that it is still the one read. On
-- PostgreSQL that is one statement with no transaction around it (`save_reading_if_unchanged`).
ALTER TABLE meters ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
