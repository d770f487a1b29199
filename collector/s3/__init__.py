"""S3 datasets: schema extraction (Parquet footers, CSV/JSON samples), schema versions and drift,
bucket security posture, evaluation-report metrics, and the event hook that keeps them current."""
