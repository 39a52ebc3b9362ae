-- The local CRM store: the default CRM backend, and the mirror a Salesforce org syncs into.
-- Every record keeps its fields as JSONB plus typed columns the matching engine searches.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE crm_records (
    org_id           uuid NOT NULL REFERENCES orgs (id),
    id               text COLLATE "C" NOT NULL CHECK (length(id) = 18), -- Salesforce-style; byte order keeps each object's ids together
    object           text NOT NULL CHECK (object IN ('Account', 'Contact', 'Lead', 'Opportunity', 'User')),
    external_id      text,                                  -- the caller's id, for upserts
    fields           jsonb NOT NULL,
    -- Extracted for matching and filters (see crm.keysOf); '' when absent.
    name_norm        text NOT NULL DEFAULT '',
    domain           text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    city             text NOT NULL DEFAULT '',
    postal_code      text NOT NULL DEFAULT '',
    owner_id         text NOT NULL DEFAULT '',
    account_id       text NOT NULL DEFAULT '',
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX crm_records_external_idx ON crm_records (org_id, object, external_id) WHERE external_id IS NOT NULL;
-- Listing one object pages through the primary key: an id starts with its object's key prefix.
-- Exact matching keys.
CREATE INDEX crm_records_domain_idx ON crm_records (org_id, object, domain) WHERE domain <> '';
CREATE INDEX crm_records_email_idx ON crm_records (org_id, object, email) WHERE email <> '';
CREATE INDEX crm_records_phone_idx ON crm_records (org_id, object, phone) WHERE phone <> '';
CREATE INDEX crm_records_owner_idx ON crm_records (org_id, object, owner_id) WHERE owner_id <> '';
CREATE INDEX crm_records_account_idx ON crm_records (org_id, account_id) WHERE account_id <> '';
-- Fuzzy name search (trigram similarity), within one org and object.
CREATE INDEX crm_records_name_trgm_idx ON crm_records USING gin (org_id, object, name_norm gin_trgm_ops);
