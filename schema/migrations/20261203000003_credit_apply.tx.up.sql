-- credit_apply writes a batch of ledger entries for one org in one statement: it locks the
-- org's balance row once, applies each entry in order (a duplicate of an entry already in the
-- ledger is reported, not applied again; one the balance cannot cover is refused), writes the
-- new balance once and returns one row per entry. Every ledger write of an org goes through
-- it, so the balance row lock serialises them and duplicates cannot race.
CREATE FUNCTION credit_apply(
    p_org uuid, p_kinds text[], p_keys text[], p_requests text[], p_steps text[],
    p_services text[], p_amounts bigint[], p_memos text[]
) RETURNS TABLE (idx integer, entry_id bigint, balance_after bigint, created_at timestamptz, duplicate boolean, refused boolean)
LANGUAGE plpgsql AS $$
DECLARE
    bal   bigint;
    start bigint;
    i     integer;
    prior record;
    eid   bigint;
    at    timestamptz;
BEGIN
    SELECT b.balance INTO bal FROM credit_balances AS b WHERE b.org_id = p_org FOR UPDATE;
    start := bal;
    FOR i IN 1 .. coalesce(array_length(p_amounts, 1), 0) LOOP
        SELECT l.id, l.balance_after, l.created_at INTO prior FROM credit_ledger AS l
        WHERE l.org_id = p_org AND l.kind = p_kinds[i] AND l.request_id = p_requests[i] AND l.step = p_steps[i];
        IF FOUND THEN
            RETURN QUERY SELECT i, prior.id, bal, prior.created_at, true, false;
            CONTINUE;
        END IF;
        IF bal IS NULL OR bal + p_amounts[i] < 0 THEN
            RETURN QUERY SELECT i, NULL::bigint, bal, NULL::timestamptz, false, true;
            CONTINUE;
        END IF;
        bal := bal + p_amounts[i];
        INSERT INTO credit_ledger AS l (org_id, api_key_id, kind, request_id, step, service, amount, balance_after, memo)
        VALUES (p_org, nullif(p_keys[i], '')::uuid, p_kinds[i], p_requests[i], p_steps[i], p_services[i], p_amounts[i], bal, p_memos[i])
        RETURNING l.id, l.created_at INTO eid, at;
        RETURN QUERY SELECT i, eid, bal, at, false, false;
    END LOOP;
    IF bal IS DISTINCT FROM start THEN
        UPDATE credit_balances SET balance = bal, updated_at = now() WHERE org_id = p_org;
    END IF;
END $$;
