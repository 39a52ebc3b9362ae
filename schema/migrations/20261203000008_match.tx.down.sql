DROP INDEX IF EXISTS crm_records_name_trgm_idx;
CREATE INDEX crm_records_name_trgm_idx ON crm_records USING gin (org_id, object, name_norm gin_trgm_ops);
