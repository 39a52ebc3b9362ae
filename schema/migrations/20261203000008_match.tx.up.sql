-- Candidate search by name: one trigram GIN index on name_norm alone. The first version
-- indexed (org_id, object, name_norm) through btree_gin, so every search also read the
-- posting lists of its org and object, which hold every record of the org: 40-130 ms per
-- search at a million accounts before a single name was compared. Searches still filter on
-- org_id and object (on the heap rows the trigram scan returns), so no org sees another's.
DROP INDEX IF EXISTS crm_records_name_trgm_idx;
CREATE INDEX crm_records_name_trgm_idx ON crm_records USING gin (name_norm gin_trgm_ops);
