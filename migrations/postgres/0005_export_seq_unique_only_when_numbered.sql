-- Only readings numbered for export have an `export_seq`; those from billing (nearly all rows
-- after an import) never get one. A plain UNIQUE kept an index entry for every one of them; a
-- partial index keeps the numbered ones only, which is all the export reads (`export_seq >
-- cursor` implies NOT NULL) and all the uniqueness needs.
ALTER TABLE readings DROP CONSTRAINT readings_export_seq_key;
CREATE UNIQUE INDEX readings_export_seq ON readings (export_seq) WHERE export_seq IS NOT NULL;
