-- Salesforce API (/v1/salesforce) on the local CRM store: a recycle bin for merged-away
-- records (so an undo restores them with their ids), the merge journal, conversions (the saga's
-- record of what it created and what it changed) and each org's merge policy.

-- Records a merge deleted, with every column they had, until restored or purged.
CREATE TABLE crm_recycle_bin (
    org_id           uuid NOT NULL REFERENCES orgs (id),
    id               text COLLATE "C" NOT NULL,
    object           text NOT NULL,
    external_id      text,
    fields           jsonb NOT NULL,
    name_norm        text NOT NULL DEFAULT '',
    domain           text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    city             text NOT NULL DEFAULT '',
    postal_code      text NOT NULL DEFAULT '',
    owner_id         text NOT NULL DEFAULT '',
    account_id       text NOT NULL DEFAULT '',
    birthdate        text NOT NULL DEFAULT '',
    version          bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    last_modified_at timestamptz NOT NULL,
    deleted_at       timestamptz NOT NULL DEFAULT now(),
    master_id        text NOT NULL DEFAULT '', -- the record it was merged into
    PRIMARY KEY (org_id, id)
);

-- One row per merge: the before-images needed to undo it.
CREATE TABLE sf_merges (
    org_id           uuid NOT NULL REFERENCES orgs (id),
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    object           text NOT NULL CHECK (object IN ('Account', 'Contact', 'Lead')),
    master_id        text NOT NULL,
    duplicate_ids    text[] NOT NULL,
    policy           text NOT NULL,
    master_before    jsonb NOT NULL,  -- the master's fields before
    master_after     jsonb NOT NULL,  -- the master's fields after
    master_version   bigint NOT NULL, -- the master's version right after the merge
    losers_before    jsonb NOT NULL,  -- the duplicates' records before
    children         jsonb NOT NULL,  -- [{id, object, field, from}] re-parented to the master
    request_id       text NOT NULL DEFAULT '',
    idempotency_key  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    undone_at        timestamptz,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX sf_merges_key_idx ON sf_merges (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX sf_merges_master_idx ON sf_merges (org_id, master_id);

-- One row per lead conversion the saga ran: what it created, the before-images of what it
-- changed, and whether it was compensated.
CREATE TABLE sf_conversions (
    org_id           uuid NOT NULL REFERENCES orgs (id),
    id               text NOT NULL, -- the workflow id
    lead_id          text NOT NULL,
    state            text NOT NULL CHECK (state IN ('converted', 'compensated')),
    result           jsonb NOT NULL,
    before           jsonb NOT NULL, -- records as they were: the lead, an existing account and contact
    created_ids      text[] NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    compensated_at   timestamptz,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX sf_conversions_lead_idx ON sf_conversions (org_id, lead_id);

-- Each org's merge policy: survivorship, overrides, auto-merge threshold.
CREATE TABLE sf_merge_policies (
    org_id               uuid PRIMARY KEY REFERENCES orgs (id),
    default_policy       text NOT NULL CHECK (default_policy IN ('fill_empty', 'master_wins', 'newest_wins')),
    field_overrides      jsonb NOT NULL DEFAULT '{}',
    auto_merge           boolean NOT NULL DEFAULT true,
    auto_merge_threshold double precision NOT NULL CHECK (auto_merge_threshold > 0 AND auto_merge_threshold <= 1),
    converted_status     text NOT NULL DEFAULT 'Closed - Converted',
    create_opportunity   boolean NOT NULL DEFAULT true,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
