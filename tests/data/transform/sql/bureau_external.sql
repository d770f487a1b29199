-- External bureau tables (Spark SQL on EMR).
CREATE TABLE IF NOT EXISTS ext.bureau_raw (applicant_id BIGINT, score INT, pulled_at TIMESTAMP)
USING PARQUET
LOCATION 's3://acme-credit-data/bureau/raw/';

INSERT OVERWRITE TABLE marts.bureau_latest
SELECT applicant_id, score FROM ext.bureau_raw;

INSERT OVERWRITE DIRECTORY 's3://acme-credit-data/exports/bureau/'
STORED AS PARQUET
SELECT * FROM vendor.bureau_feed;
