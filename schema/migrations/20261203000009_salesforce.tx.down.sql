DROP TABLE IF EXISTS sf_merge_policies;
DROP TABLE IF EXISTS sf_conversions;
DROP TABLE IF EXISTS sf_merges;
DROP TABLE IF EXISTS crm_recycle_bin;
