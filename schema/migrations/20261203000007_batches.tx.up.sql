-- Async API batches (/v1/agents). The input and results live in S3; these rows are what the
-- status, list and billing need, and they make each record's result and charge happen once.
CREATE TABLE batches (
    org_id           uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id               text        NOT NULL,
    api_key_id       uuid,
    type             text        NOT NULL CHECK (type IN ('phone', 'email', 'research')),
    state            text        NOT NULL,
    total            int         NOT NULL CHECK (total BETWEEN 1 AND 1000),
    max_credits      bigint      NOT NULL DEFAULT 0,
    credits_reserved bigint      NOT NULL DEFAULT 0,
    credits_used     bigint      NOT NULL DEFAULT 0 CHECK (credits_used <= credits_reserved),
    prefix           text        NOT NULL,
    callback_url     text        NOT NULL DEFAULT '',
    callback_secret  text        NOT NULL DEFAULT '',
    message          text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX batches_list_idx ON batches (org_id, created_at DESC, id);

-- One row per processed record: results.jsonl is written from these, so a record processed
-- again after a crash still appears once.
CREATE TABLE batch_records (
    org_id       uuid    NOT NULL,
    batch_id     text    NOT NULL,
    record_id    text    NOT NULL,
    seq          int     NOT NULL,
    success      boolean NOT NULL,
    credits_used bigint  NOT NULL DEFAULT 0,
    line         json    NOT NULL, -- json, not jsonb: the line keeps its key order
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, batch_id, record_id),
    FOREIGN KEY (org_id, batch_id) REFERENCES batches (org_id, id) ON DELETE CASCADE
);

-- Charges against a batch's reservation, once per (record, step).
CREATE TABLE batch_charges (
    org_id     uuid   NOT NULL,
    batch_id   text   NOT NULL,
    record_id  text   NOT NULL,
    step       text   NOT NULL,
    service    text   NOT NULL,
    provider   text   NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, batch_id, record_id, step),
    FOREIGN KEY (org_id, batch_id) REFERENCES batches (org_id, id) ON DELETE CASCADE
);
