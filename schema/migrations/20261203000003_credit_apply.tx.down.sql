DROP FUNCTION IF EXISTS credit_apply(uuid, text[], text[], text[], text[], text[], bigint[], text[]);
