-- What the later text of 003_rules.sql added, for databases that applied its first text
-- (see 003_rules.sql.superseded); where that later text was applied, nothing changes.
ALTER TABLE attachments ADD COLUMN IF NOT EXISTS attached boolean NOT NULL DEFAULT false;

-- Files that a message shows were attached when they were posted.
UPDATE attachments SET attached = true
 WHERE NOT attached AND id IN (SELECT attachment_id FROM messages WHERE attachment_id IS NOT NULL);

DROP INDEX IF EXISTS attachments_by_age;
CREATE INDEX IF NOT EXISTS attachments_unattached ON attachments (created_at) WHERE NOT attached;
