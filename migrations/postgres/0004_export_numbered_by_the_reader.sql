-- Submissions are no longer numbered for export when saved (that made every submission wait for
-- the previous one to commit): they are saved with no `export_seq`, and the export call numbers
-- the committed ones, oldest first, before it reads a page. This index finds those waiting.
CREATE INDEX readings_export_pending ON readings (updated_at, id)
    WHERE export_seq IS NULL AND source <> 'billing';
