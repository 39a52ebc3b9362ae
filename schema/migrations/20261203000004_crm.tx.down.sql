DROP TABLE IF EXISTS crm_records;
