"""The event handling path end to end, SQS aside: events -> enrichment from the simulated account -> Neo4j."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from jobs.app import App
from jobs.ingest import FAILED, OK, POISON, EventIngest, Message
from jobs.sources.git_sql import GitEvents
from jobs.sources.s3 import S3Events
from jobs.sources.sagemaker import SageMakerEvents
from jobs.wiring import run_sync
from lineage_dev.demo import PIPELINES_DIR as PIPELINES
from lineage_dev.sim import inject_fault
from lineage_dev.sim.account import seed_execution, seed_pipeline
from tests import event_samples as ev
from tests.graph_dump import counts, dump

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)


def definition(name: str) -> dict:
    return json.loads((PIPELINES / f"{name}.json").read_text())


def make_ingest(app: App, s3_hooks=(), git_handler=None) -> EventIngest:
    """The event path as the CLI builds it, with these S3 hooks and Git push handler (tested apart)."""
    return EventIngest(app.writer, [SageMakerEvents(app.writer, app.aws, app.state), S3Events(app.writer, s3_hooks),
                                    GitEvents(git_handler)])


def messages(events: list, prefix: str = "m") -> list[Message]:
    return [Message("test-queue", f"{prefix}-{i}", e if isinstance(e, str) else json.dumps(e))
            for i, e in enumerate(events)]


def rows(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def one_by_one(ingest: EventIngest, events: list) -> list:
    handled = []
    for message in messages(events):
        handled += ingest.handle([message])
    return handled


def test_an_execution_told_by_its_events_matches_what_the_sync_builds(app, sim, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    arn = seed_execution(sim, "churn-training", start=NOW)
    events = ev.execution_events(sim, arn)
    kinds = {e["detail-type"] for e in events}
    assert {"SageMaker Model Building Pipeline Execution Status Change", "SageMaker Training Job State Change",
            "SageMaker Model Building Pipeline Execution Step Status Change", "SageMaker Processing Job State Change",
            "SageMaker Model Package State Change"} <= kinds
    sim.reset_counts()
    handled = one_by_one(make_ingest(app), events)
    assert {h.outcome for h in handled} == {OK}
    calls = sim.counts()
    assert calls["sagemaker.DescribePipeline"] == 1  # the unseen pipeline, fetched on first sight
    assert calls["sagemaker.ListPipelineExecutionSteps"] == 1  # enrichment once, at the terminal status
    assert rows(neo4j, "MATCH (e:PipelineExecution {arn: $a}) RETURN e.status AS s, e.parameters IS NOT NULL AS p",
                a=arn) == [{"s": "Succeeded", "p": True}]
    assert rows(neo4j, "MATCH (p:Pipeline) RETURN p.name AS n, size(p.definition) > 0 AS d") == [
        {"n": "churn-training", "d": True}]
    from_events = _keys(neo4j)

    with neo4j.session() as session:
        session.run("MATCH (n) DETACH DELETE n").consume()
    run_sync(app)
    from_sync = _keys(neo4j)
    assert from_sync <= from_events
    assert all(label in ("Dataset", "Bucket") for label, _ in from_events - from_sync)  # e.g. job output folders


def _keys(driver) -> set:
    return {(r["label"], r["key"]) for r in rows(driver, """
        MATCH (n) WITH n, [l IN labels(n) WHERE l IN ['Pipeline','Step','PipelineExecution','StepRun','Job','Dataset',
            'Bucket','ModelPackage','ModelPackageGroup','Model']][0] AS label
        RETURN label, coalesce(n.arn, n.key, n.uri, n.name) AS key""")}


def test_replays_and_late_older_events_change_nothing(app, sim, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    arn = seed_execution(sim, "churn-training", start=NOW)
    events = ev.execution_events(sim, arn)
    ingest = make_ingest(app)
    ingest.handle(messages(events))  # one batch, in order
    before = dump(neo4j)
    sim.reset_counts()
    ingest.handle(messages(list(reversed(events)), "replay"))  # everything again, newest first
    assert dump(neo4j) == before
    assert sim.counts()["sagemaker.ListPipelineExecutionSteps"] == 0  # stored terminal: not fetched again
    late = ev.execution_event(events[0]["detail"]["pipelineArn"], arn, "Executing", None, NOW, NOW + timedelta(hours=1))
    late["time"] = events[0]["time"]  # an Executing event arriving after Succeeded, with its own (older) time
    ingest.handle(messages([late], "late"))
    assert rows(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s") == [{"s": "Succeeded"}]


def test_step_runs_are_upserted_while_the_execution_runs(app, sim, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    arn = seed_execution(sim, "churn-training", status="Executing", start=NOW, now=NOW + timedelta(minutes=15))
    events = [e for e in ev.execution_events(sim, arn, with_jobs=False)]
    sim.reset_counts()
    make_ingest(app).handle(messages(events))
    assert sim.counts()["sagemaker.ListPipelineExecutionSteps"] == 0
    runs = rows(neo4j, "MATCH (r:StepRun)-[:IN]->(:PipelineExecution {status: 'Executing'}) "
                       "RETURN r.name AS name, r.status AS status, r.job_arn IS NOT NULL AS job ORDER BY name")
    assert {"name": "PreprocessChurnData", "status": "Succeeded", "job": True} in runs
    assert {"name": "TrainChurnModel", "status": "Executing", "job": True} in runs
    assert rows(neo4j, "MATCH (:StepRun {name: 'TrainChurnModel'})-[:RAN_AS]->(j:TrainingJob) RETURN count(j) AS n") == [
        {"n": 1}]


def test_unknown_types_are_counted_malformed_ones_poison_and_pipeline_fetch_failures_do_not_block(app, sim, neo4j):
    pipeline = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/not-in-this-account"
    execution = f"{pipeline}/execution/abc123"
    endpoint = ev.eventbridge("SageMaker Image State Change", {"EndpointName": "churn", "EndpointStatus": "IN_SERVICE"}, NOW)
    broken = ev.execution_event(pipeline, execution, "Executing", None, NOW, NOW)
    del broken["detail"]["pipelineExecutionArn"]
    fine = ev.execution_event(pipeline, execution, "Executing", None, NOW, NOW)
    ingest = make_ingest(app)
    handled = ingest.handle(messages([endpoint, broken, "{oops", fine]))
    assert [h.outcome for h in handled] == [OK, POISON, POISON, OK]
    assert handled[0].kinds == {"unknown:aws.sagemaker:SageMaker Image State Change": 1}
    assert "pipelineExecutionArn" in handled[1].error and "not JSON" in handled[2].error
    assert ingest.counters["pipeline_fetch_errors"] == 1
    assert rows(neo4j, "MATCH (e:PipelineExecution)-[:OF]->(p:Pipeline) RETURN e.status AS s, p.arn AS p") == [
        {"s": "Executing", "p": pipeline}]
    sim.reset_counts()
    ingest.handle(messages([fine], "again"))
    assert sim.counts()["sagemaker.DescribePipeline"] == 0  # not retried at once


def test_a_failing_enrichment_fails_only_its_message(app, sim, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    arn = seed_execution(sim, "churn-training", start=NOW)
    events = ev.execution_events(sim, arn, with_jobs=False)
    inject_fault("sagemaker", "ListPipelineExecutionSteps", "AccessDeniedException", "not authorized")
    handled = make_ingest(app).handle(messages(events))
    failed = [h for h in handled if h.outcome == FAILED]
    assert len(failed) == 1 and "AccessDenied" in failed[0].error
    assert json.loads(failed[0].message.body)["detail"]["currentPipelineExecutionStatus"] == "Succeeded"
    assert rows(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s") == [{"s": "Executing"}]
    assert counts(neo4j)["StepRun"] == 6


def test_s3_object_events_update_their_dataset_and_reach_the_hooks_after_commit(app, sim, neo4j):
    seen: list = []

    def hook(events):
        stored = rows(neo4j, "MATCH (d:Dataset) RETURN count(d) AS n")[0]["n"]
        seen.append((stored, [e.key for e in events]))

    weird = "features/dt=2024-06-01/it's a \"quoted\" `name` ünï 🚀.parquet"
    t = NOW
    notification = ev.s3_notification(ev.s3_record("acme-ml-data", weird, "ObjectCreated:Put", t, size=2048, sequencer="01"),
                                       ev.s3_record("acme-ml-data", "features/dt=2024-06-02/part-0001.parquet",
                                                    "ObjectCreated:CompleteMultipartUpload", t + timedelta(seconds=1),
                                                    size=4096, sequencer="02"))
    model = "s3://acme-ml-artifacts/churn/model.tar.gz"
    training = {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-train-1",
                "TrainingJobName": "churn-train-1", "TrainingJobStatus": "Completed",
                "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": "s3://acme-ml-data/features/"}}}],
                "OutputDataConfig": {"S3OutputPath": "s3://acme-ml-artifacts/churn/"},
                "ModelArtifacts": {"S3ModelArtifacts": model},
                "CreationTime": ev.millis(t), "TrainingStartTime": ev.millis(t), "TrainingEndTime": ev.millis(t),
                "LastModifiedTime": ev.millis(t)}
    ingest = make_ingest(app, s3_hooks=[hook])
    handled = ingest.handle(messages([ev.sns(notification), ev.eventbridge("SageMaker Training Job State Change", training, t),
                                      ev.s3_eventbridge("acme-ml-artifacts", "churn/model.tar.gz", "created",
                                                        t + timedelta(seconds=2), size=99, sequencer="05")]))
    assert {h.outcome for h in handled} == {OK}
    assert seen and seen[0][0] > 0 and weird in seen[0][1]  # called once, after the write committed
    data = rows(neo4j, "MATCH (d:Dataset {uri: 's3://acme-ml-data/features/'}) RETURN d.object_count AS n, "
                       "d.last_object_key AS key, d.last_object_size AS size")
    assert data == [{"n": 2, "key": "features/dt=2024-06-02/part-0001.parquet", "size": 4096}]

    # A key with quotes, backticks, spaces and unicode outside partitions is its own dataset, stored verbatim.
    odd = "reports/it's \"odd\" `name` ünï 🚀.csv"
    ingest.handle(messages([ev.s3_eventbridge("acme-ml-data", odd, "created", t + timedelta(seconds=3), sequencer="06")], "o"))
    assert rows(neo4j, "MATCH (d:Dataset {uri: $u}) RETURN d.last_object_key AS k", u=f"s3://acme-ml-data/{odd}") == [
        {"k": odd}]

    # Deleting the last object empties the dataset but keeps its lineage.
    ingest.handle(messages([ev.s3_eventbridge("acme-ml-artifacts", "churn/model.tar.gz", "deleted",
                                              t + timedelta(seconds=4), sequencer="07")], "d"))
    assert rows(neo4j, "MATCH (j:TrainingJob)-[:PRODUCES]->(d:Dataset {uri: $u}) RETURN d.object_count AS n, "
                       "d.last_object_action AS a", u=model) == [{"n": 0, "a": "deleted"}]


def test_a_failing_hook_fails_the_messages_that_carried_s3_events(app, sim, neo4j):
    def broken(events):
        raise RuntimeError("schema queue unavailable")

    ingest = make_ingest(app, s3_hooks=[broken])
    handled = ingest.handle(messages([
        ev.s3_eventbridge("acme-ml-data", "raw/x.csv", "created", NOW, sequencer="01"),
        ev.eventbridge("SageMaker Image State Change", {"EndpointName": "x"}, NOW)]))
    assert [h.outcome for h in handled] == [FAILED, OK]
    assert rows(neo4j, "MATCH (d:Dataset) RETURN d.object_count AS n") == [{"n": 1}]  # written; replays are no-ops


def test_git_pushes_go_to_the_git_handler(app, sim, neo4j):
    pushes: list = []
    ingest = make_ingest(app, git_handler=pushes.append)
    handled = ingest.handle(messages([ev.github_push(), ev.gitlab_push(), ev.codecommit_push()]))
    assert [p.provider for p in pushes] == ["github", "gitlab", "codecommit"]
    assert {h.outcome for h in handled} == {OK}

    def failing(push):
        raise OSError("git clone failed")

    handled = make_ingest(app, git_handler=failing).handle(messages([ev.github_push()]))
    assert handled[0].outcome == FAILED and "git clone failed" in handled[0].error
    handled = make_ingest(app).handle(messages([ev.github_push()]))  # no handler configured: counted, done
    assert handled[0].outcome == OK and handled[0].kinds["git:no-handler"] == 1
