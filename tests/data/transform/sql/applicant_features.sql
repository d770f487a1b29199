-- Applicant features for the credit-risk model, rebuilt nightly (Redshift).
COPY raw.bureau_scores
FROM 's3://acme-credit-data/bureau/scores/'
IAM_ROLE 'arn:aws:iam::111122223333:role/RedshiftCopy'
FORMAT AS PARQUET;

CREATE TEMP TABLE recent_apps AS
SELECT a.application_id, a.applicant_id, a.amount, a.submitted_at
FROM staging.applications a
WHERE a.submitted_at >= DATEADD(day, -90, GETDATE());

CREATE TABLE marts.applicant_features AS
SELECT r.applicant_id,
       COUNT(*) AS applications_90d,
       SUM(r.amount) AS amount_90d,
       MAX(b.score) AS bureau_score
FROM recent_apps r
JOIN raw.bureau_scores b ON b.applicant_id = r.applicant_id
GROUP BY r.applicant_id;

UNLOAD ('SELECT applicant_id, amount_90d FROM marts.applicant_features')
TO 's3://acme-credit-data/exports/applicant_features/'
IAM_ROLE 'arn:aws:iam::111122223333:role/RedshiftCopy'
FORMAT AS PARQUET;

SELECT * FROM no_such_syntax WHERE;
