"""Hostile and broken settings (#11): any invalid value stops any command at start with one line on stderr
naming the variable, exit 2, before any connection, with no traceback and no secret in the line."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.git import GitRepoConfig
from config.settings import Settings
from jobs.cli import main

ROOT = Path(__file__).resolve().parents[1]
REPO = "https://github.com/acme/analytics.git"
COMMANDS = [["sync"], ["consume", "--until-empty"], ["query", "--list"], ["init-schema"], ["run"],
            ["inventory"], ["lineage", "--pipeline", "churn"]]
# Valid secrets set in every case: no error line may show them.
SECRETS = {"NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": "pw-Zq7uX1", "LINEAGE_API_TOKENS": "tok-Zq7uX2",
           "LINEAGE_OPENLINEAGE_API_KEY": "key-Zq7uX3"}


def repos(**item: object) -> str:
    return json.dumps([{"url": REPO, **item}])


# (variable, bad value, words the line must hold)
BAD = [
    ("NEO4J_URI", "http://neo4j:7687", "must start with one of bolt://"),
    ("NEO4J_URI", "bolt://", "not a URL"),
    ("NEO4J_URI", "bolt://neo4j:pw-Zq7uX1@db:port", "not a URL"),
    ("NEO4J_USERNAME", "neo4j", "NEO4J_PASSWORD must be set when NEO4J_USERNAME is set"),  # with no password
    ("AWS_ENDPOINT_URL", "localhost:5000", "not a URL"),
    ("LINEAGE_REGIONS", "eu-west-1,mars", "not an AWS region name"),
    ("LINEAGE_PIPELINES", "churn training", "not a SageMaker pipeline name"),
    ("LINEAGE_AWS_MAX_ATTEMPTS", "many", "valid integer"),
    ("LINEAGE_S3_PARTITION_PATTERNS", '["year=\\\\d{4}"', "not valid JSON (line 1 column 15)"),
    ("LINEAGE_S3_PART_FILE_PATTERNS", "[1]", "item 0 is not a string"),
    ("LINEAGE_S3_MARKER_PATTERNS", "_SUCCESS(", "invalid regular expression"),
    ("LINEAGE_S3_SAMPLE_ROWS", "0", "greater than or equal to 1"),
    ("LINEAGE_S3_SAMPLE_BYTES", "1e3", "valid integer"),
    ("LINEAGE_S3_FOOTER_READ_BYTES", "4", "greater than or equal to 8"),
    ("LINEAGE_S3_REPORT_MAX_BYTES", "-1", "greater than or equal to"),
    ("LINEAGE_S3_SCHEMA_MIN_INTERVAL_SECONDS", "-5", "greater than or equal to 0"),
    ("LINEAGE_S3_READS_PER_SECOND", "fast", "valid number"),
    ("LINEAGE_S3_POSTURE_REFRESH_SECONDS", "1", "greater than or equal to 60"),
    ("LINEAGE_S3_RESCAN_INTERVAL_SECONDS", "1.5", "valid integer"),
    ("LINEAGE_S3_RESCAN_BATCH", "0", "greater than or equal to 1"),
    ("LINEAGE_S3_HISTORY_MAX_PARTITIONS", "1", "greater than or equal to 2"),
    ("LINEAGE_S3_HISTORY_ON_FIRST_SCAN", "all", "valid integer"),
    ("LINEAGE_EXECUTIONS_PER_PIPELINE", "-1", "greater than or equal to 0"),
    ("LINEAGE_SYNC_WORKERS", "100", "less than or equal to 64"),
    ("LINEAGE_SYNC_INTERVAL_SECONDS", "5", "greater than or equal to 10"),
    ("LINEAGE_SYNC_CRON", "every hour", "not a crontab expression"),
    ("LINEAGE_SYNC_CRON", "61 * * * *", "not a crontab expression"),
    ("LINEAGE_SYNC_ON_START", "maybe", "valid boolean"),
    ("LINEAGE_WRITE_BATCH_SIZE", "0", "greater than or equal to 1"),
    ("LINEAGE_LOG_FORMAT", "xml", "should match pattern"),
    ("LINEAGE_LOG_LEVEL", "LOUD", "should match pattern"),
    ("LINEAGE_QUEUE_URLS", "notaurl", "not an SQS queue URL"),
    ("LINEAGE_QUEUE_URLS", "https://sqs.eu-west-1.amazonaws.com/1234/lineage", "not a 12-digit account id"),
    ("LINEAGE_QUEUE_URLS", "https://example.com/", "not an SQS queue URL"),
    ("LINEAGE_QUEUE_URLS", "https://sqs.eu-west-1.amazonaws.com/111122223333/lineage events", "not an SQS queue URL"),
    ("LINEAGE_QUEUE_URLS", "http://sqs.eu-west-1.amazonaws.com/111122223333/lineage", "AWS endpoints are https"),
    ("LINEAGE_QUEUE_URLS", "https://sqs.eu-west-1.amazonaws.com/111122223333/a/b", "not an SQS queue URL"),
    ("LINEAGE_QUEUE_WAIT_SECONDS", "30", "less than or equal to 20"),
    ("LINEAGE_QUEUE_BATCH_SIZE", "11", "less than or equal to 10"),
    ("LINEAGE_QUEUE_VISIBILITY_TIMEOUT", "0", "greater than or equal to 1"),
    ("LINEAGE_CONSUMER_THREADS", "x", "valid integer"),
    ("LINEAGE_CONSUMER_COMMIT_MESSAGES", "0", "greater than or equal to 1"),
    ("LINEAGE_CONSUMER_MAX_INFLIGHT_MESSAGES", "5", "greater than or equal to 10"),
    ("LINEAGE_CONSUMER_MAX_INFLIGHT_BYTES", "32MB", "valid integer"),
    ("LINEAGE_WRITE_TIMEOUT_SECONDS", "-1", "greater than or equal to 0"),
    ("LINEAGE_LEASE_TTL_SECONDS", "1", "greater than or equal to 5"),
    ("LINEAGE_LEASE_NAME", "two words", "should match pattern"),
    ("LINEAGE_WORKER_ID", "worker one", "should match pattern"),
    ("LINEAGE_RETIRE_AFTER_SECONDS", "-1", "greater than or equal to 0"),
    ("LINEAGE_RETIRED_DELETE_AFTER_SECONDS", "soon", "valid integer"),
    ("LINEAGE_FEATURE_GROUP_REFRESH_SECONDS", "-5", "greater than or equal to 0"),
    ("LINEAGE_POISON_MESSAGES", "keep", "should match pattern"),
    ("LINEAGE_DEAD_LETTER_QUEUE_URL", "http://localhost:4566/queue/lineage-dlq", "not a 12-digit account id"),
    ("LINEAGE_HEALTH_PORT", "70000", "less than or equal to 65535"),
    ("LINEAGE_HEALTH_HOST", "0.0.0.0:8080", "not an IP address or host name"),
    ("LINEAGE_HEALTH_DETAILS", "public", "'off', 'loopback' or 'on'"),
    ("LINEAGE_METRICS_EMF", "yes please", "valid boolean"),
    ("LINEAGE_METRICS_NAMESPACE", "AWS/Lineage", "namespaces starting with AWS/ are AWS's own"),
    ("LINEAGE_METRICS_NAMESPACE", "Lineage$Collector", "not a CloudWatch namespace"),
    ("LINEAGE_EVENT_MAX_CLOCK_SKEW_SECONDS", "soon", "valid number"),
    ("LINEAGE_ACCOUNTS", "12345", "not a 12-digit AWS account id"),
    ("LINEAGE_OUT_OF_SCOPE", "drop", "should match pattern"),
    ("LINEAGE_GIT_REPOS", "{bad json", "not valid JSON (line 1 column 2)"),
    ("LINEAGE_GIT_REPOS", json.dumps({"url": REPO}), "must be a JSON list, not a JSON object"),
    ("LINEAGE_GIT_REPOS", '["https://github.com/acme/analytics.git"]', "item 0: Input should be a valid dictionary"),
    ("LINEAGE_GIT_REPOS", '[{"url": 3}]', "item 0 url: Input should be a valid string"),
    ("LINEAGE_GIT_REPOS", '[{"branch": "main"}]', "item 0 url: Field required"),
    ("LINEAGE_GIT_REPOS", repos(brnach="main"), "item 0 brnach: Extra inputs are not permitted"),
    ("LINEAGE_GIT_REPOS", json.dumps([{"url": "htps://github.com/acme/analytics.git"}]), "item 0 url: not a URL"),
    ("LINEAGE_GIT_REPOS", json.dumps([{"url": "https://ci:pw-Zq7uX1@github.com/a/b"}]), "not in the url"),
    ("LINEAGE_GIT_REPOS", repos(name=["a"]), "item 0 name: Input should be a valid string"),
    ("LINEAGE_GIT_REPOS", repos(branch="--upload-pack=x"), "item 0 branch: '--upload-pack=x' is not a git branch"),
    ("LINEAGE_GIT_REPOS", repos(paths="models/**/*.sql"), "item 0 paths: Input should be a valid list"),
    ("LINEAGE_GIT_REPOS", repos(paths=[]), "item 0 paths: must be a non-empty list"),
    ("LINEAGE_GIT_REPOS", repos(dialect="cobol"), "item 0 dialect: unknown SQL dialect 'cobol'"),
    ("LINEAGE_GIT_REPOS", repos(credentials_env="GIT TOKEN"), "item 0 credentials_env: 'GIT TOKEN' is not"),
    ("LINEAGE_GIT_REPOS", repos(secret_arn="arn:aws:s3:::bucket"), "item 0 secret_arn: 'arn:aws:s3:::bucket' is not"),
    ("LINEAGE_GIT_REPOS", repos(credentials_env="T", secret_arn="git-token"), "item 0: set credentials_env or"),
    ("LINEAGE_GIT_REPOS", repos(username="ci:bot"), "item 0 username: must be a user name without ':'"),
    ("LINEAGE_GIT_SYNC_INTERVAL_SECONDS", "1", "greater than or equal to 10"),
    ("LINEAGE_GIT_TIMEOUT_SECONDS", "1", "greater than or equal to 5"),
    ("LINEAGE_SQL_COLUMN_BUDGET_SECONDS", "0", "greater than 0"),
    ("LINEAGE_SQL_TABLE_LOCATIONS", "notjson", "not valid JSON (line 1 column 1)"),
    ("LINEAGE_SQL_TABLE_LOCATIONS", '["s3://acme-ml-data/sales/"]', "must be a JSON object"),
    ("LINEAGE_SQL_TABLE_LOCATIONS", '{"sales": "/data/sales"}', "table 'sales': the location must be an s3://"),
    ("LINEAGE_SQL_TABLE_LOCATIONS", '{"sales": 3}', "the location must be an s3://"),
    ("LINEAGE_GLUE_LOOKUP", "sometimes", "valid boolean"),
    ("LINEAGE_GLUE_CATALOG_ID", "acme", "not a 12-digit AWS account id"),
    ("LINEAGE_OPENLINEAGE_URL", "marquez:5000", "not a URL"),
    ("LINEAGE_OPENLINEAGE_URL", "ftp://marquez", "not a URL"),
    ("LINEAGE_OPENLINEAGE_API_KEY", "key-Zq7uX3 with a space", "visible ASCII without spaces (value not shown)"),
    ("LINEAGE_OPENLINEAGE_TIMEOUT_SECONDS", "0", "greater than 0"),
    ("LINEAGE_OPENLINEAGE_QUEUE_SIZE", "0", "greater than or equal to 1"),
    ("LINEAGE_OPENLINEAGE_OUTBOX_MAX", "lots", "valid integer"),
    ("LINEAGE_API_HOST", "http://0.0.0.0", "not an IP address or host name"),
    ("LINEAGE_API_PORT", "0", "greater than or equal to 1"),
    ("LINEAGE_API_TOKENS", "tok-Zq7uX2,tok\u00e9-Zq7uX2", "token 1 must be visible ASCII"),
    ("LINEAGE_API_CORS_ORIGINS", "https://ui.example/app", "not an origin"),
    ("LINEAGE_API_CORS_ORIGINS", "ui.example", "not a URL"),
    ("LINEAGE_API_NEO4J_TIMEOUT_SECONDS", "never", "valid number"),
    ("LINEAGE_API_MAX_BODY_BYTES", "1kb", "valid integer"),
]
# Settings that are free text (any value is one) or a secret with nothing to check beyond the pair rule.
FREE_TEXT = {"NEO4J_PASSWORD", "NEO4J_DATABASE", "LINEAGE_S3_REPORT_NAMES", "LINEAGE_GIT_CACHE_DIR",
             "LINEAGE_OPENLINEAGE_ENDPOINT", "LINEAGE_OPENLINEAGE_TABLE_NAMESPACE"}


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"LINEAGE_{field.upper()}"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Where Neo4j and AWS are said to be: nothing may connect to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, listener: socket.socket) -> dict[str, str]:
    for name in list(os.environ):
        if name.startswith(("LINEAGE_", "NEO4J_")) or name == "AWS_ENDPOINT_URL":
            monkeypatch.delenv(name)
    port = listener.getsockname()[1]
    env = {"NEO4J_URI": f"bolt://127.0.0.1:{port}", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
           "AWS_REGION": "eu-west-1", **SECRETS}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env but the test's own
    return env


def assert_refused(line: str, name: str, words: str) -> None:
    assert line.startswith(f"lineage-collector: invalid setting {name}: "), line
    assert words in line, line
    assert not any(secret in line for secret in SECRETS.values() if secret != "neo4j"), line


def no_connection(listener: socket.socket) -> bool:
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        return True
    return False


def test_every_structured_setting_has_a_bad_case() -> None:
    covered = {name for name, _, _ in BAD}
    assert {env_name(f) for f in Settings.model_fields} - covered - FREE_TEXT == set()
    git_cases = " ".join(words for name, _, words in BAD if name == "LINEAGE_GIT_REPOS")
    assert {f for f in GitRepoConfig.model_fields if f"item 0 {f}:" not in git_cases} == set()


@pytest.mark.parametrize(("name", "value", "words"), BAD, ids=[f"{n}={v[:30]}" for n, v, _ in BAD])
def test_a_bad_setting_stops_every_command_in_one_line(name, value, words, clean_env, monkeypatch, capsys, listener):
    named = name
    if name == "NEO4J_USERNAME":  # the pair rule names the one missing
        monkeypatch.delenv("NEO4J_PASSWORD")
        named = "NEO4J_PASSWORD"
    monkeypatch.setenv(name, value)
    for command in COMMANDS:
        assert main(command) == 2, command
        out, err = capsys.readouterr()
        assert out == "" and len(err.splitlines()) == 1, (command, err)
        assert_refused(err.strip(), named, words)
    assert no_connection(listener)


def test_a_bad_value_in_the_env_file_too(clean_env, capsys, listener):
    Path(".env").write_text("LINEAGE_GIT_REPOS={bad json\n")
    assert main(["sync"]) == 2
    assert_refused(capsys.readouterr().err.strip(), "LINEAGE_GIT_REPOS", "not valid JSON (line 1 column 2)")
    Path(".env").write_bytes(b"LINEAGE_LOG_LEVEL=\xff\n")
    assert main(["sync"]) == 2
    assert capsys.readouterr().err.strip() == "lineage-collector: invalid setting .env: cannot be read (UnicodeDecodeError)"
    assert no_connection(listener)


def test_a_bad_queue_url_option_stops_consume(clean_env, capsys, listener):
    assert main(["consume", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/lineage"]) == 2
    assert capsys.readouterr().err.strip().startswith("lineage-collector: invalid option --queue-url: ")
    assert no_connection(listener)


def test_good_values_pass() -> None:
    settings = Settings(
        queue_urls="https://sqs.eu-west-1.amazonaws.com/111122223333/lineage-sagemaker,"
                   "http://127.0.0.1:5000/123456789012/lineage-s3,https://sqs.us-east-1.amazonaws.com/111122223333/q.fifo",
        dead_letter_queue_url="", git_repos=repos(branch="feature/sql-v2", secret_arn="arn:aws:secretsmanager:"
                                                  "eu-west-1:111122223333:secret:git-AbCdEf"),
        sql_table_locations='{"sales": "s3://acme-ml-data/sales/"}', health_host="::1", api_cors_origins="*",
        sync_cron="*/15 * * * *", glue_catalog_id="111122223333", aws_endpoint_url="http://localhost:5000",
        metrics_emf="true", metrics_namespace="Acme/ML-Lineage_1 #prod:eu")
    assert len(settings.queue_urls) == 3 and settings.dead_letter_queue_url is None
    assert settings.metrics_emf and settings.metrics_namespace == "Acme/ML-Lineage_1 #prod:eu"
    assert settings.git_repos[0].branch == "feature/sql-v2" and settings.sql_table_locations["sales"].startswith("s3://")
    for url in ["git@github.com:acme/sql.git", "ssh://git@gitlab.example:2222/a/b.git", "codecommit::eu-west-1://sql",
                "file:///srv/git/sql.git", "/srv/git/sql"]:
        assert GitRepoConfig(url=url).url == url


@pytest.mark.parametrize(("name", "value", "command"), [
    ("LINEAGE_GIT_REPOS", "{bad json", ["sync"]),
    ("LINEAGE_SQL_TABLE_LOCATIONS", "notjson", ["query", "--list"]),
    ("LINEAGE_QUEUE_URLS", "notaurl", ["consume", "--until-empty"]),
    ("LINEAGE_OPENLINEAGE_API_KEY", "key-Zq7uX3\twith a tab", ["init-schema"]),
])
def test_the_real_process_exits_2_with_one_line(name, value, command, clean_env, listener):
    env = {**os.environ, name: value, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "jobs.cli", *command], env=env, capture_output=True, text=True,
                          timeout=60, cwd=os.getcwd())
    assert done.returncode == 2 and done.stdout == "", done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert_refused(lines[0], name, "")
    assert no_connection(listener)
