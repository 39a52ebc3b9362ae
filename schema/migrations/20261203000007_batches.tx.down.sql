DROP TABLE IF EXISTS batch_charges;
DROP TABLE IF EXISTS batch_records;
DROP TABLE IF EXISTS batches;
