-- People whose given and family names both carry typos escape the trigram name search; their
-- birth date finds them (see match.BlockKeys). '' when absent, like the other typed columns.
ALTER TABLE crm_records ADD COLUMN birthdate text NOT NULL DEFAULT '';
CREATE INDEX crm_records_birthdate_idx ON crm_records (org_id, object, birthdate) WHERE birthdate <> '';
