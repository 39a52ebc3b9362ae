-- Enrichment: the result cache and the email addresses an org has come to know.

-- One cached answer per (org, service, record_id, inputs). A record without record_id is never
-- cached; a changed input is a different row, so stale inputs never answer new ones.
-- UNLOGGED: a cache may be lost in a crash (it is emptied then), and writing it without WAL
-- spares every enrichment a disk flush.
CREATE UNLOGGED TABLE enrich_cache (
    org_id      uuid NOT NULL REFERENCES orgs (id),
    service     text NOT NULL,
    record_id   text NOT NULL CHECK (record_id <> ''),
    input_hash  bytea NOT NULL,
    response    bytea NOT NULL, -- the answer's JSON, stored as sent: never queried inside
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, service, record_id, input_hash)
);
CREATE INDEX enrich_cache_expiry_idx ON enrich_cache (expires_at);

-- Addresses seen with the names they belong to: inputs, verified finds. Email pattern learning
-- reads them per domain.
CREATE TABLE known_emails (
    org_id      uuid NOT NULL REFERENCES orgs (id),
    email       text NOT NULL,
    domain      text NOT NULL,
    first_name  text NOT NULL DEFAULT '',
    last_name   text NOT NULL DEFAULT '',
    source      text NOT NULL,
    observed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, email)
);
CREATE INDEX known_emails_domain_idx ON known_emails (org_id, domain);
