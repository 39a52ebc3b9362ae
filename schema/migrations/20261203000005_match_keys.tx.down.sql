DROP INDEX IF EXISTS crm_records_birthdate_idx;
ALTER TABLE crm_records DROP COLUMN IF EXISTS birthdate;
