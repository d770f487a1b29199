"""Hostile and broken input (issue #11, drills 1-4) through the real consumer: the product's event path
(`jobs.wiring.event_ingest`, with its bounds and scope from settings) against the moto server's SQS and a
real Neo4j. No single message can freeze, poison or steer the graph."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from config import load_settings
from graphstore.model import Graph
from jobs.app import App
from jobs.consumer import ERROR_ATTRIBUTE, Consumer, ConsumerConfig
from jobs.ingest import OK, POISON, EventIngest, Message
from jobs.sources.sagemaker import SageMakerEvents
from jobs.wiring import event_ingest, run_sync
from lineage_dev.demo import PIPELINES_DIR
from lineage_dev.sim.account import seed_execution, seed_pipeline
from tests import event_samples as ev
from tests.test_consumer import depth, drain, make_queue, send

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
FAR = datetime(2099, 1, 1, tzinfo=timezone.utc)
FOREIGN = "999999999999"
DEEP = 5000


def consume(app: App, url: str, ingest: EventIngest | None = None) -> tuple[Consumer, EventIngest]:
    """One consumer run until the queue is empty, on the product's event path."""
    ingest = ingest or event_ingest(app)
    consumer = Consumer(app.aws, ingest, ConsumerConfig.from_settings(
        app.settings, queue_urls=[url], until_empty=True, wait_seconds=1, visibility_timeout=30,
        shutdown_seconds=10, threads=1))
    consumer.run(threading.Event())
    return consumer, ingest


def rows(driver, query: str, **params) -> list[dict]:
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def dead_letters(sqs, dlq: str) -> dict[str, dict]:
    """Dead-lettered messages by their original message id (from the error attribute)."""
    found = {}
    for m in drain(sqs, dlq):
        reason = m["MessageAttributes"][ERROR_ATTRIBUTE]["StringValue"]
        found[reason.rsplit(" ", 1)[-1]] = {"body": m["Body"], "reason": reason,
                                             "receives": m["Attributes"]["ApproximateReceiveCount"]}
    return found


def running_execution(sim) -> tuple[str, str, list[dict]]:
    """churn-training with one execution still running in the simulated account, and its events so far."""
    definition = json.loads((PIPELINES_DIR / "churn-training.json").read_text())
    seed_pipeline(sim, "churn-training", definition)
    arn = seed_execution(sim, "churn-training", status="Executing", start=NOW, now=NOW + timedelta(minutes=15))
    events = ev.execution_events(sim, arn, with_jobs=False)
    return events[0]["detail"]["pipelineArn"], arn, events


def step_row(name: str, start: datetime) -> dict:
    return {"StepName": name, "StartTime": start, "Metadata": {}}


def iso(when: datetime) -> str:
    return ev.iso(when)


# --- drill 1: time is bounded -------------------------------------------------------------------------


def test_far_future_times_are_dead_lettered_and_never_freeze_a_node(app, sim, sqs, neo4j, caplog):
    pipeline, execution, events = running_execution(sim)
    url, dlq = make_queue(sqs, "lineage-events", max_receives=5)
    send(sqs, url, events)
    consume(app, url)
    train = f"{execution}/TrainChurnModel"
    assert rows(neo4j, "MATCH (r:StepRun {key: $k}) RETURN r.status AS s", k=train) == [{"s": "Executing"}]

    in_time = ev.step_event(pipeline, execution, step_row("TrainChurnModel", NOW), "Failed", "Executing", FAR)
    in_start = ev.step_event(pipeline, execution, step_row("TrainChurnModel", FAR), "Stopped", "Executing",
                             NOW + timedelta(minutes=16))
    in_end = ev.step_event(pipeline, execution, step_row("TrainChurnModel", NOW), "Failed", "Executing",
                           NOW + timedelta(minutes=16))
    in_end["detail"]["stepEndTime"] = iso(FAR)
    execution_start = ev.execution_event(pipeline, execution, "Stopped", "Executing", FAR, NOW + timedelta(minutes=16))
    job = {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:training-job/forged",
           "TrainingJobName": "forged", "TrainingJobStatus": "Failed",
           "LastModifiedTime": ev.millis(FAR), "CreationTime": ev.millis(NOW)}  # epoch milliseconds
    in_millis = ev.eventbridge("SageMaker Training Job State Change", job, NOW, resources=[job["TrainingJobArn"]])
    forged = [in_time, in_start, in_end, execution_start, in_millis]
    # Genuine events after the forged ones: the step succeeds, the execution goes on.
    later = ev.step_event(pipeline, execution, {**step_row("TrainChurnModel", NOW), "EndTime": NOW + timedelta(minutes=20)},
                          "Succeeded", "Executing", NOW + timedelta(minutes=20, seconds=1))
    forged_ids = send(sqs, url, forged)
    send(sqs, url, [later])
    consumer, ingest = consume(app, url)

    dead = dead_letters(sqs, dlq)
    assert set(dead) == set(forged_ids)  # each dead-lettered with its reason and original id, at once
    assert all("later than the message's receive time" in d["reason"] and d["receives"] == "1" for d in dead.values())
    assert consumer.stats.total("poison") == len(forged) and consumer.stats.total("failed") == 0
    assert ingest.counters["rejected:future-time"] == len(forged)
    assert all(i in caplog.text for i in forged_ids)  # logged with the message id
    assert depth(sqs, url) == 0
    assert rows(neo4j, "MATCH (r:StepRun {key: $k}) RETURN r.status AS s", k=train) == [{"s": "Succeeded"}]
    assert rows(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s") == [{"s": "Executing"}]
    assert rows(neo4j, "MATCH (j:Job {name: 'forged'}) RETURN j") == []
    assert rows(neo4j, "MATCH (n) WHERE n.state_time > datetime() RETURN n.key AS k") == []


def test_a_read_from_aws_corrects_an_event_stamped_before_it(app, sim, sqs, neo4j):
    """A wrong state from an event (stamped in the past, so accepted) is overridden by the next sync: the read
    is as of its own time. Before: the event's time beat AWS's older LastModifiedTime, and the sync then skipped
    the execution for good as stored terminal."""
    pipeline, execution, events = running_execution(sim)
    url, _ = make_queue(sqs, "lineage-events", max_receives=5)
    a_minute_ago = datetime.now(timezone.utc) - timedelta(minutes=1)
    wrong = ev.execution_event(pipeline, execution, "Failed", "Executing", NOW, a_minute_ago, end=a_minute_ago,
                               failure="forged failure")
    send(sqs, url, [*events, wrong])
    consume(app, url, EventIngest(app.writer, [SageMakerEvents(app.writer)]))  # no enrichment: the event alone
    assert rows(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s") == [{"s": "Failed"}]

    report = run_sync(app)
    assert report.executions_fetched == 1  # terminal only by an event: fetched again, not skipped
    found = rows(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s, e.failure_reason AS f, e.end_time AS end, "
                        "labels(e) AS labels")
    assert [(r["s"], r["f"], r["end"], sorted(r["labels"])) for r in found] == [
        ("Executing", None, None, ["Executing", "PipelineExecution"])]  # the read replaced the whole state
    assert run_sync(app).executions_skipped == 0  # still running in AWS: fetched every time, as before


def test_a_state_frozen_in_the_future_before_the_bound_is_corrected(app, sim, neo4j):
    """A node a 2099 event froze before this release (stored as the old code stored it) is void: the next
    sync, and the next genuine event, replace it."""
    pipeline, execution, events = running_execution(sim)
    frozen = Graph()
    frozen.node("StepRun", f"{execution}/TrainChurnModel", {"name": "TrainChurnModel", "execution_arn": execution},
                state={"status": "Failed", "failure_reason": "forged"}, state_time=FAR, state_rank=2)
    frozen.node("PipelineExecution", execution, {"pipeline_arn": pipeline}, state={"status": "Stopped"},
                state_time=FAR, state_rank=2)
    app.writer.write(frozen, source="event")
    ingest = event_ingest(app)
    ingest.handle([Message("q", "genuine", json.dumps(events[-1]))])  # the latest genuine event
    run_sync(app)
    assert rows(neo4j, "MATCH (r:StepRun {name: 'TrainChurnModel'}) RETURN r.status AS s, r.failure_reason AS f") == [
        {"s": "Executing", "f": None}]
    assert rows(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s") == [{"s": "Executing"}]


def test_the_receive_time_is_the_messages_own_never_the_bodys():
    """SQS's SentTimestamp bounds the times: an event an hour old is still later than a message sent two hours ago."""
    from collector.events import parse_body
    from collector.events.bounds import EventBounds, too_late

    sent = datetime.now(timezone.utc) - timedelta(hours=2)
    event = ev.execution_event("arn:aws:sagemaker:us-east-1:123456789012:pipeline/p",
                               "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x", "Executing", None,
                               sent, sent + timedelta(hours=1))
    items = parse_body(json.dumps(event))
    assert too_late(items, sent, EventBounds().max_clock_skew)
    assert too_late(items, sent + timedelta(minutes=56), EventBounds().max_clock_skew) is None  # within 5 minutes
    from jobs.ingest import sqs_sent_at

    parsed = sqs_sent_at({"Attributes": {"SentTimestamp": str(int(sent.timestamp() * 1000))}})
    assert parsed is not None and abs((parsed - sent).total_seconds()) < 0.002
    assert sqs_sent_at({"Attributes": {"SentTimestamp": "soon"}}) is None and sqs_sent_at({}) is None


# --- drill 2: one deeply nested message fails only itself ------------------------------------------------


def test_a_deeply_nested_message_is_dead_lettered_alone_and_its_batch_goes_on(app, sim, sqs, neo4j):
    *_, events = running_execution(sim)
    url, dlq = make_queue(sqs, "lineage-events", max_receives=2)
    deep_object = '{"detail-type": "x", "source": "aws.sagemaker", "detail": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}"
    deep_array = "[" * DEEP + "]" * DEEP
    deep_sns = json.dumps(ev.sns("[" * DEEP + "]" * DEEP))
    bodies = (events * 2)[:7] + [deep_object, deep_array, deep_sns]
    ids = send(sqs, url, bodies)  # one batch of ten
    consumer, _ = consume(app, url)
    dead = dead_letters(sqs, dlq)
    assert set(dead) == set(ids[-3:])
    assert all("nested more than 64 levels deep" in d["reason"] and d["receives"] == "1" for d in dead.values())
    stats = consumer.stats
    assert (stats.total("deleted"), stats.total("failed"), stats.total("poison")) == (10, 0, 3)
    assert depth(sqs, url) == 0
    assert rows(neo4j, "MATCH (r:StepRun) RETURN count(r) AS n")[0]["n"] > 0


# --- drill 3: wrong types are dead-lettered at once, never retried, stored or dropped ----------------------


def test_wrong_types_are_dead_lettered_with_a_reason(app, sim, sqs, neo4j):
    pipeline, execution, events = running_execution(sim)
    url, dlq = make_queue(sqs, "lineage-events", max_receives=5)

    def step(**detail) -> dict:
        event = ev.step_event(pipeline, execution, step_row("TrainChurnModel", NOW), "Executing", "Starting", NOW)
        event["detail"].update(detail)
        return event

    running = ev.execution_event(pipeline, execution, "Executing", None, NOW, NOW)
    display_map = json.loads(json.dumps(running))
    display_map["detail"]["pipelineExecutionDisplayName"] = {"nested": "map"}
    garbage_time = step()
    garbage_time["time"] = "yesterday at noon"
    job = {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:training-job/t1", "TrainingJobName": "t1",
           "TrainingJobStatus": "Completed", "CreationTime": "soon", "LastModifiedTime": ev.millis(NOW)}
    broken = {
        "status as a list": step(currentStepStatus=["Succeeded"]),
        "numeric status": step(currentStepStatus=42),
        "metadata as a string": step(metadata="trainingJob"),
        "job ARN as a list": step(metadata={"trainingJob": {"arn": ["arn:aws:sagemaker:x"]}}),
        "display name as a map": display_map,
        "lone surrogate in a step name": step(stepName="Train\ud800Model"),
        "lone surrogate in a key": ev.s3_eventbridge("acme-ml-data", "raw/\udc80.csv", "created", NOW),
        "garbage envelope time": garbage_time,
        "garbage start time": step(stepStartTime="2024-13-45T99:00:00Z"),
        "garbage job time": ev.eventbridge("SageMaker Training Job State Change", job, NOW),
        "execution of another pipeline": step(pipelineArn=pipeline + "-other"),
    }
    ids = dict(zip(send(sqs, url, list(broken.values())), broken, strict=True))
    good = send(sqs, url, events)
    consumer, _ = consume(app, url)

    dead = dead_letters(sqs, dlq)
    assert set(dead) == set(ids), [ids.get(i, i) for i in set(dead) ^ set(ids)]
    assert all(d["receives"] == "1" for d in dead.values())  # at once, not after retries
    reasons = {ids[i]: d["reason"] for i, d in dead.items()}
    assert "currentStepStatus" in reasons["status as a list"] and "got list" in reasons["status as a list"]
    assert "currentStepStatus" in reasons["numeric status"] and "got int" in reasons["numeric status"]
    assert "metadata" in reasons["metadata as a string"]
    assert "pipelineExecutionDisplayName" in reasons["display name as a map"]
    assert "lone surrogate" in reasons["lone surrogate in a step name"] and "stepName" in reasons[
        "lone surrogate in a step name"]
    assert "lone surrogate" in reasons["lone surrogate in a key"]
    assert "time" in reasons["garbage envelope time"] and "stepStartTime" in reasons["garbage start time"]
    assert "CreationTime" in reasons["garbage job time"]
    stats = consumer.stats
    assert (stats.total("poison"), stats.total("failed"), stats.total("deleted")) == (len(broken), 0,
                                                                                     len(broken) + len(good))
    assert rows(neo4j, "MATCH (r:StepRun) WHERE NOT r.status IN ['Starting', 'Executing', 'Succeeded'] "
                       "OR r.status IS NULL RETURN r.key AS k, r.status AS s") == []
    assert rows(neo4j, "MATCH (j:Job) WHERE j.arn ENDS WITH 'training-job/t1' RETURN j") == []
    assert rows(neo4j, "MATCH (d:Dataset) WHERE d.uri STARTS WITH 's3://acme-ml-data/raw/' RETURN d") == []


# --- drill 4: scope ----------------------------------------------------------------------------------------


def foreign_events(raw_dataset: str) -> dict[str, dict]:
    """Events the collector was never configured for, and one whose envelope disagrees with its ARNs."""
    job = {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{FOREIGN}:training-job/exfiltrate",
           "TrainingJobName": "exfiltrate", "TrainingJobStatus": "Completed",
           "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
               "S3DataType": "S3Prefix", "S3Uri": raw_dataset}}}],
           "OutputDataConfig": {"S3OutputPath": "s3://attacker-bucket/out/"},
           "CreationTime": ev.millis(NOW), "LastModifiedTime": ev.millis(NOW)}
    foreign_job = ev.eventbridge("SageMaker Training Job State Change", job, NOW, resources=[job["TrainingJobArn"]])
    foreign_job["account"] = FOREIGN
    other_region = "arn:aws:sagemaker:eu-west-3:123456789012:pipeline/elsewhere"
    region_step = ev.step_event(other_region, f"{other_region}/execution/e1", step_row("Train", NOW), "Executing",
                                "Starting", NOW)
    region_step["region"] = "eu-west-3"
    smuggled = f"arn:aws:sagemaker:us-east-1:{FOREIGN}:pipeline/smuggled"
    mismatch = ev.execution_event(smuggled, f"{smuggled}/execution/e1", "Executing", None, NOW, NOW)  # envelope: ours
    s3_foreign = ev.s3_eventbridge("attacker-bucket", "loot/x.csv", "created", NOW, sequencer="01")
    s3_foreign["account"] = FOREIGN
    s3_region = ev.s3_notification(ev.s3_record("acme-ml-data", "raw/y.csv", "ObjectCreated:Put", NOW,
                                                region="ap-southeast-2"))
    return {"foreign account": foreign_job, "foreign region": region_step, "envelope disagrees with its ARNs": mismatch,
            "S3 bucket of a foreign account": s3_foreign, "S3 bucket in a foreign region": s3_region}


def seeded_lineage(app: App, sim) -> tuple[str, str, str]:
    pipeline, execution, _ = running_execution(sim)
    run_sync(app)
    raw = rows(app.driver, "MATCH (d:Dataset)-[:FEEDS]->(:Step) RETURN d.uri AS uri ORDER BY uri LIMIT 1")[0]["uri"]
    return pipeline, execution, raw


def test_events_of_other_accounts_and_regions_are_skipped_and_never_call_aws(app, sim, sqs, neo4j):
    pipeline, execution, raw = seeded_lineage(app, sim)
    url, dlq = make_queue(sqs, "lineage-events", max_receives=5)
    hostile = foreign_events(raw)
    invalid_bucket = ev.s3_eventbridge("Not_A..Bucket", "raw/z.csv", "created", NOW)
    mine = ev.step_event(pipeline, execution, step_row("TrainChurnModel", NOW), "Executing", "Starting",
                         NOW + timedelta(minutes=1))
    ingest = event_ingest(app)  # asks STS for the caller's account: LINEAGE_ACCOUNTS is not set
    before = rows(neo4j, "MATCH (n) RETURN count(n) AS n")[0]["n"]
    sim.reset_counts()
    ids = send(sqs, url, [*hostile.values(), invalid_bucket, mine])
    consumer, _ = consume(app, url, ingest)

    calls = sim.counts()
    assert not [c for c in calls if not c.startswith("sqs.")], calls  # no DescribePipeline, no S3 read: no AWS call
    events = consumer.stats.snapshot()["queues"][url]["events"]
    assert events["out-of-scope:account"] == 2 and events["out-of-scope:region"] == 2
    assert events["out-of-scope:arn-mismatch"] == 1
    dead = dead_letters(sqs, dlq)
    assert list(dead) == [ids[len(hostile)]] and "bucket name 'Not_A..Bucket'" in dead[ids[len(hostile)]]["reason"]
    assert rows(neo4j, "MATCH (n) RETURN count(n) AS n")[0]["n"] == before  # nothing new: not a node, not a bucket
    assert rows(neo4j, "MATCH (:Dataset {uri: $raw})-[:FEEDS]->(j:Job) RETURN j.arn AS j", raw=raw) == []
    assert rows(neo4j, "MATCH (n) WHERE n.arn CONTAINS $a OR n.arn CONTAINS 'eu-west-3' OR n.name = 'attacker-bucket' "
                       "RETURN n", a=FOREIGN) == []
    assert rows(neo4j, "MATCH (r:StepRun {name: 'TrainChurnModel'}) RETURN r.status AS s") == [{"s": "Executing"}]
    assert ingest.bounds.accounts == {ev.ACCOUNT} and ingest.bounds.regions == {"us-east-1"}


def test_out_of_scope_events_can_be_dead_lettered_instead(settings_env, sim, sqs, neo4j, monkeypatch):
    monkeypatch.setenv("LINEAGE_OUT_OF_SCOPE", "dead-letter")
    monkeypatch.setenv("LINEAGE_ACCOUNTS", f"{ev.ACCOUNT},111122223333")
    strict = App(load_settings())
    try:
        url, dlq = make_queue(sqs, "lineage-events", max_receives=5)
        hostile = foreign_events("s3://acme-ml-data/raw/")
        ids = dict(zip(send(sqs, url, list(hostile.values())), hostile, strict=True))
        sim.reset_counts()
        consumer, ingest = consume(strict, url)
        assert ingest.bounds.accounts == {ev.ACCOUNT, "111122223333"}  # as configured: no STS call
        assert "sts.GetCallerIdentity" not in sim.counts()
        dead = dead_letters(sqs, dlq)
        assert set(dead) == set(ids)
        assert all("out of scope" in d["reason"] and d["receives"] == "1" for d in dead.values())
        assert consumer.stats.total("poison") == len(hostile)
        assert rows(neo4j, "MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
    finally:
        strict.close()


def test_bucket_names_and_keys_follow_s3s_rules():
    from collector.events import MalformedMessage, parse_body
    from collector.events.names import bucket_problem, key_problem

    for name in ("acme-ml-data", "a.b-c", "abc", "x" * 63, "bucket-base--usw2-az1--x-s3"):
        assert bucket_problem(name) is None, name
    for name in ("ab", "x" * 64, "Acme", "acme_data", "-acme", "acme-", "ac..me", "192.168.5.4", "xn--acme",
                 "sthree-x", "acme-s3alias", "acme--ol-s3", "acme.mrap", "acme--table-s3", "ac me", ""):
        assert bucket_problem(name), name
    assert key_problem("k") is None and key_problem("ü" * 512) is None
    assert key_problem("") and key_problem("ü" * 513) and key_problem("\ud800")
    job = {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:training-job/t", "TrainingJobStatus": "Completed",
           "OutputDataConfig": {"S3OutputPath": "s3://Bad_Bucket/out/"}}
    with pytest.raises(MalformedMessage, match="Bad_Bucket"):
        parse_body(json.dumps(ev.eventbridge("SageMaker Training Job State Change", job, NOW)))


def test_every_outcome_of_ingest_is_ok_or_poison_for_hostile_bodies(app, neo4j):
    """Whatever the body, prepare never raises and never fails a neighbour (the fuzz test covers the parsers)."""
    bodies = ["[" * DEEP, "{" * DEEP, '{"a": ' * 900 + "1" + "}" * 900, "\x00", "NaN", '{"x": 1e999}',
              '{"Type": "Notification", "Message": 5}', '{"headers": {"X-GitHub-Event": ["push"]}, "body": "{}"}',
              json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": ["ObjectCreated:Put"]}]}),
              json.dumps(ev.s3_eventbridge("acme-ml-data", "ok.csv", "created", NOW))]
    handled = EventIngest(app.writer, event_ingest(app).handlers).prepare(
        [Message("q", str(i), b) for i, b in enumerate(bodies)])
    assert [h.outcome for h in handled] == [POISON] * (len(bodies) - 1) + [OK]


def test_s3_and_git_times_are_bounded_too(app, neo4j):
    far_record = ev.s3_notification(ev.s3_record("acme-ml-data", "raw/a.csv", "ObjectCreated:Put", FAR))
    far_object = ev.s3_eventbridge("acme-ml-data", "raw/b.csv", "created", FAR)
    far_push = ev.github_push()
    far_push["head_commit"]["timestamp"] = iso(FAR)  # a committer's clock far ahead
    far_commit = ev.gitlab_push()
    far_commit["commits"][0]["timestamp"] = iso(FAR)
    fine = [ev.s3_eventbridge("acme-ml-data", "raw/c.csv", "created", NOW), ev.github_push()]
    ingest = event_ingest(app)
    handled = ingest.prepare([Message("q", str(i), json.dumps(b))
                              for i, b in enumerate([far_record, far_object, far_push, far_commit, *fine])])
    assert [h.outcome for h in handled] == [POISON] * 4 + [OK] * 2
    assert all("later than the message's receive time" in h.error for h in handled[:4])
    assert ingest.counters["rejected:future-time"] == 4


def test_event_settings_fail_at_start_in_one_line(settings_env, monkeypatch):
    import os
    import subprocess
    import sys

    from config import SettingsError

    for name, value in [("LINEAGE_ACCOUNTS", "12345"), ("LINEAGE_ACCOUNTS", "123456789012,not-an-account"),
                        ("LINEAGE_REGIONS", "mars-1,us-east-1;"), ("LINEAGE_OUT_OF_SCOPE", "drop"),
                        ("LINEAGE_EVENT_MAX_CLOCK_SKEW_SECONDS", "-1"), ("LINEAGE_EVENT_MAX_CLOCK_SKEW_SECONDS", "soon")]:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=f"^invalid setting {name}: "):
            load_settings()
        monkeypatch.delenv(name)
    env = {**os.environ, "LINEAGE_ACCOUNTS": "12345"}
    done = subprocess.run([sys.executable, "-m", "jobs.cli", "consume", "--until-empty"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "lineage-collector: invalid setting LINEAGE_ACCOUNTS: '12345' is not a 12-digit AWS account id"]
