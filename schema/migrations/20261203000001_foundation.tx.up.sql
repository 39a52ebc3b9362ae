-- Foundation: tenants, API keys, credits, rate limits, idempotency, route logs, retention.
-- Every tenant-owned table carries org_id and every query filters on it.

CREATE TABLE orgs (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 hash and a short prefix of each key are stored; the key itself is shown once.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES orgs (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix      text NOT NULL,
    hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    rate_limits jsonb NOT NULL DEFAULT '{}'::jsonb, -- per-group per-minute overrides
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, created_at);

-- The balance row is what concurrent debits lock; the CHECK is the last line against overspending.
CREATE TABLE credit_balances (
    org_id     uuid PRIMARY KEY REFERENCES orgs (id),
    balance    bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only: every change to a balance is one row here, idempotent by (kind, request, step).
CREATE TABLE credit_ledger (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs (id),
    api_key_id    uuid REFERENCES api_keys (id),
    kind          text NOT NULL CHECK (kind IN ('grant', 'debit', 'refund')),
    request_id    text NOT NULL CHECK (request_id <> ''),
    step          text NOT NULL CHECK (step <> ''),
    service       text NOT NULL,
    amount        bigint NOT NULL CHECK ((kind = 'debit' AND amount < 0) OR (kind <> 'debit' AND amount > 0)),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    memo          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, kind, request_id, step)
);
CREATE INDEX credit_ledger_usage_idx ON credit_ledger (org_id, created_at);

CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_ledger is append-only';
END $$;
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();

-- Sliding-window counters shared by every API replica. UNLOGGED: a crash resets the counters,
-- which is harmless, and every request writes here, so WAL would be pure cost.
CREATE UNLOGGED TABLE rate_limit_windows (
    api_key_id   uuid NOT NULL,
    grp          text NOT NULL,
    window_start timestamptz NOT NULL,
    org_id       uuid NOT NULL,
    count        integer NOT NULL,
    last_grant   integer NOT NULL DEFAULT 0, -- how many the last statement granted (for batches)
    PRIMARY KEY (api_key_id, grp, window_start)
);
CREATE INDEX rate_limit_windows_start_idx ON rate_limit_windows (window_start);

CREATE TABLE idempotency_records (
    org_id       uuid NOT NULL REFERENCES orgs (id),
    scope        text NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    state        text NOT NULL CHECK (state IN ('running', 'done')),
    status       integer,
    response     bytea, -- the exact bytes, replayed as they were
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, scope, key)
);
CREATE INDEX idempotency_records_expiry_idx ON idempotency_records (expires_at);

-- Route logs, partitioned by month so retention can drop whole months.
CREATE TABLE route_logs (
    org_id          uuid NOT NULL,
    id              bigserial,
    "timestamp"     timestamptz NOT NULL,
    object          text NOT NULL,
    object_id       text NOT NULL,
    action          text NOT NULL,
    pool            text,
    assigned_to     text,
    prev_owner      text,
    sequence        bigint,
    reason          text NOT NULL DEFAULT '',
    request_id      text NOT NULL DEFAULT '',
    idempotency_key text NOT NULL DEFAULT '',
    diff            jsonb,
    PRIMARY KEY (org_id, "timestamp", id)
) PARTITION BY RANGE ("timestamp");
-- The primary key serves the date range alone; these serve each export filter with it.
CREATE INDEX route_logs_pool_idx ON route_logs (org_id, pool, "timestamp");
CREATE INDEX route_logs_object_idx ON route_logs (org_id, object, "timestamp");
CREATE INDEX route_logs_action_idx ON route_logs (org_id, action, "timestamp");

-- A global unique index cannot span partitions, so dedup keys live here.
CREATE TABLE route_log_keys (
    org_id          uuid NOT NULL,
    idempotency_key text NOT NULL,
    action          text NOT NULL,
    object_id       text NOT NULL,
    "timestamp"     timestamptz NOT NULL,
    PRIMARY KEY (org_id, idempotency_key, action, object_id)
);
CREATE INDEX route_log_keys_timestamp_idx ON route_log_keys ("timestamp");

-- route_logs_ensure_partition creates the month partition holding ts, if missing.
-- The advisory lock makes concurrent writers agree instead of racing on CREATE TABLE.
CREATE FUNCTION route_logs_ensure_partition(ts timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lo   timestamptz := date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi   timestamptz := lo + interval '1 month';
    name text := 'route_logs_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('route_logs_partitions'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF route_logs FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
        END IF;
    END IF;
    RETURN name;
END $$;

SELECT route_logs_ensure_partition(now() + make_interval(months => m)) FROM generate_series(-1, 2) AS m;

CREATE TABLE log_retention_settings (
    org_id         uuid PRIMARY KEY REFERENCES orgs (id),
    retention_days integer NOT NULL CHECK (retention_days BETWEEN 1 AND 1095),
    auto_cleanup   boolean NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
