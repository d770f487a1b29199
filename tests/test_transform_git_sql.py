"""Git push payloads (tests/data/transform/git) -> GitPushEvent and the configured repository they are for;
collector.git.transform and collector.sql.graph: commits, SQL files and their lineage as graph data. No git, no Neo4j."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collector.events import GitPushEvent, Ignored, parse_body
from collector.git.repo import CommitInfo
from collector.git.transform import commits_graph, file_graph, file_key, retired_file_graph
from collector.sql import extract_sql
from collector.sql.graph import sql_file_graph
from config.git import GitRepoConfig
from tests.transform_data import (
    assert_graph,
    default_dataset_rules,  # noqa: F401 (a fixture)
    file_lineage,
    raw,
    text,
)

pytestmark = pytest.mark.usefixtures("default_dataset_rules")

REPO = "https://github.com/acme/credit-sql.git"
CONFIG = GitRepoConfig(url=REPO, branch="main", paths=["models/**/*.sql"], dialect="redshift")
ZERO = "0" * 40


def push(name: str):
    (item,) = parse_body(text(f"git/{name}.json"))
    return item


# --- push payloads ---------------------------------------------------------------------------------

GITHUB = GitPushEvent(provider="github", repo_url=REPO, ref="refs/heads/main", branch="main",
                      before="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
                      after="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", forced=False,
                      time=datetime(2024, 6, 3, 9, 58, 40, tzinfo=timezone.utc), repository_name="acme/credit-sql")
GITLAB = GitPushEvent(provider="gitlab", repo_url="https://gitlab.acme.example/data/credit-sql.git", ref="refs/heads/main",
                      branch="main", before="95790bf891e76fee5e1747ab589903a6a1f80f22",
                      after="da1560886d4f094c3e6c9ef40349f7d38b5d27d7", forced=False,
                      time=datetime(2024, 6, 3, 9, 2, tzinfo=timezone.utc), repository_name="data/credit-sql")
CODECOMMIT = GitPushEvent(provider="codecommit",
                          repo_url="https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/credit-sql",
                          ref="refs/heads/main", branch="main", before="3e1f9c8b7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
                          after="5c2d0fd44e2c1e9b7b7a1d4f0e6c3b2a19081726", forced=False,
                          time=datetime(2024, 6, 3, 10, 5, tzinfo=timezone.utc), repository_name="credit-sql")


@pytest.mark.parametrize("name, expected", [
    ("github_push", GITHUB),
    ("github_relay", GITHUB),  # the webhook relayed with its headers
    ("github_branch_deleted", GitPushEvent(  # no head commit: the repository's pushed_at (epoch seconds)
        provider="github", repo_url=REPO, ref="refs/heads/feature/scorecard", branch="feature/scorecard",
        before="9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", after=ZERO, forced=False,
        time=datetime(2024, 6, 3, 10, tzinfo=timezone.utc), repository_name="acme/credit-sql")),
    ("github_ping_relay", Ignored("github:ping")),
    ("gitlab_push", GITLAB),  # the newest commit's time, offsets normalised
    ("gitlab_tag_push", GitPushEvent(provider="gitlab", repo_url=GITLAB.repo_url, ref="refs/tags/v2024.06", branch=None,
                                     before=ZERO, after=GITLAB.after, forced=False, time=None,
                                     repository_name="data/credit-sql")),
    ("codecommit_reference_updated", CODECOMMIT),
    ("codecommit_tag_created", GitPushEvent(provider="codecommit", repo_url=CODECOMMIT.repo_url, ref="refs/tags/v2024.06",
                                            branch=None, before=None, after=CODECOMMIT.after, forced=False,
                                            time=datetime(2024, 6, 3, 10, 6, tzinfo=timezone.utc),
                                            repository_name="credit-sql")),
])
def test_push_payloads(name, expected):
    assert push(name) == expected


CONFIGS = {
    "github": CONFIG,
    "github-ssh": GitRepoConfig(url="git@github.com:acme/credit-sql.git"),
    "gitlab": GitRepoConfig(url="https://ci-bot@gitlab.acme.example/data/credit-sql"),
    "codecommit": GitRepoConfig(url="codecommit::eu-west-1://credit-sql", name="credit-sql"),
}


def matching(event: GitPushEvent) -> set[str]:
    return {name for name, config in CONFIGS.items() if config.matches_event(event.repo_url, event.repository_name)}


def test_a_push_matches_the_repository_configured_at_its_url_or_name():
    assert {"github", "github-ssh"} <= matching(GITHUB)
    assert "gitlab" in matching(GITLAB)
    assert "codecommit" in matching(CODECOMMIT)  # CodeCommit remotes (codecommit::region://name) match by name


OTHER_OWNER = GitPushEvent(provider="github", repo_url="https://github.com/someone-else/credit-sql.git",
                           ref="refs/heads/main", branch="main", before=GITHUB.before, after=GITHUB.after, forced=True, time=None,
                           repository_name="someone-else/credit-sql")


def test_the_documented_name_fallback_matches_a_same_named_repository_anywhere():
    """docs/sql-lineage.md: an event is for a repository when its URL is the same repository *or* its repository
    name matches the configured name or the URL's last segment, so mirrors on other hosts trigger a sync too."""
    assert matching(OTHER_OWNER) == set(CONFIGS)


# --- commits and SQL files ---------------------------------------------------------------------------


def commits() -> list[CommitInfo]:
    return [CommitInfo(c["sha"], c["author"], datetime.fromisoformat(c["time"]), c["message"],
                       [tuple(change) for change in c["changes"]]) for c in raw("git/commits.json")]


def key(path: str) -> str:
    return file_key(REPO, path)


def test_commits_with_the_configured_sql_files_they_changed():
    first, second = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert_graph(commits_graph(CONFIG, commits()), {"nodes": {
        "Repo": {REPO: {"name": "credit-sql", "branch": "main", "dialect": "redshift", "paths": ["models/**/*.sql"],
                        "head": None}},
        "Commit": {first: {"author": "Jane Doe", "time": "2024-06-03T09:58:40+00:00", "message": "Add applicant features model",
                           "repo": REPO},
                   second: {"author": "Jürgen Müller", "time": "2024-06-01T16:20:05+00:00"}},
        "SqlFile": {key("models/applicant_features.sql"): {"path": "models/applicant_features.sql", "repo": REPO},
                    key("models/staging/stg_applications.sql"): {}, key("models/bureau_external.sql"): {},
                    key("models/old_scorecard.sql"): {}},
    }, "rels": [
        ["Commit", first, "IN", "Repo", REPO], ["Commit", second, "IN", "Repo", REPO],
        ["Commit", first, "CHANGED", "SqlFile", key("models/applicant_features.sql"), {"change": "A", "old_path": None}],
        ["Commit", first, "CHANGED", "SqlFile", key("models/staging/stg_applications.sql"), {"change": "M"}],
        ["Commit", second, "CHANGED", "SqlFile", key("models/bureau_external.sql"),
         {"change": "R", "old_path": "legacy/bureau.sql"}],
        ["Commit", second, "CHANGED", "SqlFile", key("models/old_scorecard.sql"), {"change": "D"}],
    ]})


def test_sql_file_with_temporary_tables_copy_and_unload():
    graph = sql_file_graph(file_lineage("applicant_features"), key("models/applicant_features.sql"), commit="0d1a26e",
                           dialect="redshift")
    f, mart = key("models/applicant_features.sql"), "marts.applicant_features"
    bureau, scores = "raw.bureau_scores", "s3://acme-credit-data/bureau/scores/"
    export = "s3://acme-credit-data/exports/applicant_features/"
    edge = {"file": f, "commit": "0d1a26e", "dialect": "redshift"}
    names = ["applicant_id", "applications_90d", "amount_90d", "bureau_score"]
    columns = {f"{mart}.{c}": {"table": mart, "name": c} for c in names}
    assert_graph(graph, {"nodes": {
        "SqlFile": {f: {}},
        "Table": {mart: {"columns": names, "columns_from": f},
                  bureau: {"columns": None}, "staging.applications": {}},  # recent_apps (TEMP) is collapsed away
        "Dataset": {scores: {"bucket": "acme-credit-data"}, export: {"bucket": "acme-credit-data"}},
        "Column": {**columns, "staging.applications.applicant_id": {"table": "staging.applications"},
                   "staging.applications.amount": {}, f"{bureau}.score": {"table": bureau, "name": "score"}},
    }, "rels": [
        ["Dataset", scores, "FEEDS", "Table", bureau, {**edge, "sql_kind": "copy", "statements": [0]}],
        ["Table", "staging.applications", "FEEDS", "Table", mart, {**edge, "sql_kind": "create_table_as", "statements": [2]}],
        ["Table", bureau, "FEEDS", "Table", mart, {"statements": [2]}],
        ["Table", mart, "FEEDS", "Dataset", export, {"sql_kind": "unload", "statements": [3]}],
        ["SqlFile", f, "DEFINES", "Table", mart, edge], ["SqlFile", f, "DEFINES", "Table", bureau],
        ["SqlFile", f, "READS", "Table", "staging.applications"],
        ["Column", "staging.applications.applicant_id", "FEEDS", "Column", f"{mart}.applicant_id", {**edge, "statements": [2]}],
        ["Column", "staging.applications.amount", "FEEDS", "Column", f"{mart}.amount_90d"],
        ["Column", f"{bureau}.score", "FEEDS", "Column", f"{mart}.bureau_score"],
        *[["Column", c, "OF", "Table", mart] for c in columns],
        ["Column", "staging.applications.applicant_id", "OF", "Table", "staging.applications"],
        ["Column", "staging.applications.amount", "OF", "Table", "staging.applications"],
        ["Column", f"{bureau}.score", "OF", "Table", bureau],
    ]})


def test_sql_file_with_a_table_location_and_a_directory_export():
    f = key("models/bureau_external.sql")
    graph = sql_file_graph(file_lineage("bureau_external"), f)
    rels = {(r.type, r.start, r.end): r.props for r in graph.rels.values()}
    stored = rels[("STORED_AT", ("Table", "ext.bureau_raw"), ("Dataset", "s3://acme-credit-data/bureau/raw/"))]
    assert stored == {"via": "sql", "file": f, "dialect": "spark"}  # no commit given: none written
    assert ("FEEDS", ("Table", "vendor.bureau_feed"), ("Dataset", "s3://acme-credit-data/exports/bureau/")) in rels
    assert graph.nodes[("Table", "ext.bureau_raw")].props["columns"] == ["applicant_id", "score", "pulled_at"]
    assert {r.end[1] for r in graph.rels.values() if r.type == "READS"} == {"vendor.bureau_feed"}


def test_file_graph_of_a_parsed_file_at_the_branch_head():
    path, blob, head = "models/applicant_features.sql", "8c1f2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c", "0d1a26e67d8f5eaf"
    lineage = extract_sql(text("sql/applicant_features.sql"), "redshift", path=path)
    graph = file_graph(CONFIG, path, blob, "0d1a26e6", lineage, parsed_at=head)
    sql_file = graph.nodes[("SqlFile", key(path))]
    assert {k: v for k, v in sql_file.props.items() if k != "errors"} == {
        "path": path, "repo": REPO, "blob": blob, "commit": "0d1a26e6", "dialect": "redshift", "retired": False,
        "statements": 5, "error_count": 1}
    assert sql_file.props["errors"][0].startswith("statement 4 (line 26): ParseError")
    lineage_edges = [r for r in graph.rels.values() if "file" in r.props]
    assert lineage_edges and all((r.props["blob"], r.props["parsed_at"]) == (blob, head) for r in lineage_edges)
    assert ("IN", ("SqlFile", key(path)), ("Repo", REPO)) in {(r.type, r.start, r.end) for r in graph.rels.values()}
    # the extractor's lineage and the fixture's give the same edges
    expected = sql_file_graph(file_lineage("applicant_features"), key(path), commit="0d1a26e6", dialect="redshift")
    assert {(r.type, r.start, r.end) for r in lineage_edges} == {
        (r.type, r.start, r.end) for r in expected.rels.values() if "file" in r.props}


def test_retired_file():
    graph = retired_file_graph(CONFIG, "models/old_scorecard.sql", "6113728f")
    assert_graph(graph, {"nodes": {
        "SqlFile": {key("models/old_scorecard.sql"): {"retired": True, "removed_in": "6113728f",
                                                      "path": "models/old_scorecard.sql"}},
        "Repo": {REPO: {"name": "credit-sql"}}},
        "rels": [["SqlFile", key("models/old_scorecard.sql"), "IN", "Repo", REPO]]})


def test_credentials_never_reach_the_graph():
    config = GitRepoConfig(url="https://ci-bot@gitlab.acme.example/data/credit-sql.git", credentials_env="GITLAB_TOKEN")
    graph = retired_file_graph(config, "models/x.sql", "abc")
    assert {n.key for n in graph.nodes.values()} == {"https://gitlab.acme.example/data/credit-sql.git",
                                                     "https://gitlab.acme.example/data/credit-sql.git:models/x.sql"}


def test_a_file_of_plain_selects_reads_its_tables():
    f = key("analysis/weekly.sql")
    lineage = extract_sql("SELECT * FROM raw.orders o JOIN raw.customers c ON o.cid = c.id;\n"
                          "WITH w AS (SELECT * FROM marts.kpis) SELECT * FROM w", "redshift")
    graph = sql_file_graph(lineage, f)
    reads = {(r.start, r.end[1]) for r in graph.rels.values() if r.type == "READS"}
    assert reads == {(("SqlFile", f), t) for t in ("raw.orders", "raw.customers", "marts.kpis")}
    assert not [r for r in graph.rels.values() if r.type in ("FEEDS", "DEFINES")]


def test_an_unknown_repo_dialect_is_rejected_with_close_matches():
    with pytest.raises(ValueError, match=r"unknown SQL dialect 'snowflak'; did you mean snowflake"):
        GitRepoConfig(url=REPO, dialect="snowflak")
