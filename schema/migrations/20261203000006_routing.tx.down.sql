DROP TABLE IF EXISTS routing_resets;
DROP TABLE IF EXISTS routing_assignments;
DROP TABLE IF EXISTS routing_members;
DROP TABLE IF EXISTS routing_pools;
