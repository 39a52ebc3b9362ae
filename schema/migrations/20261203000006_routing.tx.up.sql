-- Routing: round-robin pools, their members with the rotation state, and every assignment.
-- An assignment locks its pool row (SELECT ... FOR UPDATE), so the state below changes one
-- assignment at a time per pool, whichever API process runs it.

CREATE TABLE routing_pools (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES orgs (id),
    name          text NOT NULL,
    objects       text[] NOT NULL,
    on_return     text NOT NULL DEFAULT 'keep_place' CHECK (on_return IN ('keep_place', 'catch_up')),
    last_sequence bigint NOT NULL DEFAULT 0,        -- the sequence of the pool's latest assignment
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

CREATE TABLE routing_members (
    org_id              uuid NOT NULL REFERENCES orgs (id),
    pool_id             uuid NOT NULL REFERENCES routing_pools (id) ON DELETE CASCADE,
    user_id             text COLLATE "C" NOT NULL,  -- a CRM User id, 18 characters
    position            bigint GENERATED ALWAYS AS IDENTITY, -- join order: breaks ties
    weight              integer NOT NULL CHECK (weight > 0),
    status              text NOT NULL CHECK (status IN ('active', 'paused', 'out_of_office')),
    out_of_office_until timestamptz,
    cap_day             integer CHECK (cap_day > 0),
    cap_week            integer CHECK (cap_week > 0),
    working_hours       jsonb,
    current_weight      bigint NOT NULL DEFAULT 0,  -- smooth weighted round robin's running score
    assigned            bigint NOT NULL DEFAULT 0,  -- assignments since joining or the last rebalance
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, user_id)
);
CREATE INDEX routing_members_org_idx ON routing_members (org_id, pool_id);

CREATE TABLE routing_assignments (
    org_id          uuid NOT NULL REFERENCES orgs (id),
    pool_id         uuid NOT NULL REFERENCES routing_pools (id) ON DELETE CASCADE,
    sequence        bigint NOT NULL,
    object          text NOT NULL,
    object_id       text NOT NULL,
    user_id         text NOT NULL,
    prev_owner      text NOT NULL DEFAULT '',
    reason          text NOT NULL,
    request_id      text NOT NULL DEFAULT '',
    idempotency_key text,
    assigned_at     timestamptz NOT NULL,
    PRIMARY KEY (pool_id, sequence)
);
-- The same key always names the same assignment, across every pool of the org.
CREATE UNIQUE INDEX routing_assignments_key_idx ON routing_assignments (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Cap usage: a member's assignments in the last day or week.
CREATE INDEX routing_assignments_caps_idx ON routing_assignments (pool_id, user_id, assigned_at);

CREATE TABLE routing_resets (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES orgs (id),
    pool_id    uuid NOT NULL REFERENCES routing_pools (id) ON DELETE CASCADE,
    mode       text NOT NULL CHECK (mode IN ('restart', 'rebalance')),
    reason     text NOT NULL,
    request_id text NOT NULL DEFAULT '',
    sequence   bigint NOT NULL,                     -- the pool's last sequence when it was reset
    before     jsonb NOT NULL,                      -- each member's current weight and count before
    reset_at   timestamptz NOT NULL
);
CREATE INDEX routing_resets_pool_idx ON routing_resets (org_id, pool_id, reset_at);
