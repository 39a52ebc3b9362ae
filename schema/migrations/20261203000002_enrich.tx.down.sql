DROP TABLE IF EXISTS known_emails;
DROP TABLE IF EXISTS enrich_cache;
