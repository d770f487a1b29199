"""Status labels: a run carries one label naming its current status (what Neo4j Browser's style colours),
kept in step with the ordered state: a newer status relabels, an older one never does, replays change nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from collector.sagemaker.transform import execution_graph, job_graph, step_run_graph
from graphstore import schema
from graphstore.model import Graph
from graphstore.writer import GraphWriter, plan

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
PIPELINE = "arn:aws:sagemaker:us-east-1:111122223333:pipeline/churn"
EXECUTION = f"{PIPELINE}/execution/e1"
JOB = "arn:aws:sagemaker:us-east-1:111122223333:training-job/train-1"


def _step(status: str, at: datetime, name: str = "Train") -> Graph:
    return step_run_graph(EXECUTION, {"StepName": name, "StepStatus": status, "StartTime": T0,
                                      **({"EndTime": at} if at != T0 else {})})


def _labels(driver, label: str) -> list[set[str]]:
    records, _, _ = driver.execute_query(f"MATCH (n:{label}) RETURN labels(n) AS labels ORDER BY n.key, n.arn")
    return [set(r["labels"]) for r in records]


def test_status_labels_are_declared_apart_from_every_other_label():
    node_labels = {n.label for n in schema.NODES}
    extra = {x for n in schema.NODES for x in n.extra_labels}
    status = {x for n in schema.NODES for x in n.status_labels}
    assert status and not status & (node_labels | extra)
    assert {n.label for n in schema.NODES if n.status_labels} == {"PipelineExecution", "StepRun", "Job"}
    assert schema.status_label("StepRun", "Failed") == "Failed"
    assert schema.status_label("Job", "Succeeded") is None  # jobs say Completed
    assert schema.status_label("StepRun", "Paused") is None and schema.status_label("Dataset", "Failed") is None


def test_status_labels_are_the_statuses_of_the_sagemaker_apis():
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    enum = lambda *shapes: {x for shape in shapes for x in model.shape_for(shape).enum}
    labels = {n.label: set(n.status_labels) for n in schema.NODES}
    assert labels["PipelineExecution"] == enum("PipelineExecutionStatus")
    assert labels["StepRun"] == enum("StepStatus")
    assert labels["Job"] == enum("TrainingJobStatus", "ProcessingJobStatus", "TransformJobStatus",
                                 "HyperParameterTuningJobStatus", "AutoMLJobStatus")


def test_one_statement_per_status_present_never_per_row():
    g = Graph()
    for i in range(50):
        g.update(_step("Succeeded" if i % 2 else "Failed", T0 + timedelta(minutes=1), name=f"s{i}"))
    statements = [cypher for cypher, _ in plan(g) if cypher.startswith("UNWIND $rows AS r MERGE (n:StepRun")]
    stateful = [s for s in statements if "SET n += r.state" in s]
    assert len(stateful) == 2 and {s.rsplit(" ", 1)[-1] for s in stateful} == {"n:Failed", "n:Succeeded"}
    assert sum(len(rows) for cypher, rows in plan(g) if cypher in stateful) == 50


def test_a_newer_status_relabels_an_older_one_never_does(neo4j):
    writer = GraphWriter(neo4j)
    writer.write(_step("Executing", T0))
    assert _labels(neo4j, "StepRun") == [{"StepRun", "Executing"}]
    writer.write(_step("Failed", T0 + timedelta(minutes=5)))
    assert _labels(neo4j, "StepRun") == [{"StepRun", "Failed"}]
    writer.write(_step("Executing", T0 + timedelta(minutes=1)))  # a late, older event
    writer.write(_step("Failed", T0 + timedelta(minutes=5)))  # a replay
    assert _labels(neo4j, "StepRun") == [{"StepRun", "Failed"}]
    records, _, _ = neo4j.execute_query("MATCH (r:StepRun) RETURN r.status AS status")
    assert records[0]["status"] == "Failed"
    # A write naming the node without a state (an endpoint of a relationship) keeps its label.
    g = Graph()
    g.rel("IN", g.node("StepRun", f"{EXECUTION}/Train"), g.node("PipelineExecution", EXECUTION))
    writer.write(g)
    assert _labels(neo4j, "StepRun") == [{"StepRun", "Failed"}]


def test_an_unknown_status_drops_the_stale_label(neo4j):
    writer = GraphWriter(neo4j)
    writer.write(execution_graph({"PipelineExecutionArn": EXECUTION, "PipelineExecutionStatus": "Executing",
                                  "StartTime": T0, "LastModifiedTime": T0}, PIPELINE))
    assert _labels(neo4j, "PipelineExecution") == [{"PipelineExecution", "Executing"}]
    writer.write(execution_graph({"PipelineExecutionArn": EXECUTION, "PipelineExecutionStatus": "Paused",
                                  "StartTime": T0, "LastModifiedTime": T0 + timedelta(minutes=1)}, PIPELINE))
    assert _labels(neo4j, "PipelineExecution") == [{"PipelineExecution"}]


def test_a_job_carries_its_kind_and_its_status(neo4j):
    writer = GraphWriter(neo4j)
    for status, minutes in (("InProgress", 0), ("Completed", 9)):
        writer.write(job_graph("TrainingJob", {"TrainingJobArn": JOB, "TrainingJobName": "train-1",
                                               "TrainingJobStatus": status, "TrainingStartTime": T0,
                                               "LastModifiedTime": T0 + timedelta(minutes=minutes)}))
    assert _labels(neo4j, "Job") == [{"Job", "TrainingJob", "Completed"}]


def test_ensure_schema_labels_runs_written_before_status_labels(neo4j):
    neo4j.execute_query("CREATE (:StepRun {key: 'a', status: 'Succeeded'}), (:StepRun {key: 'b', status: 'Paused'}), "
                        "(:Job {arn: 'j', status: 'Failed'}), (:PipelineExecution {arn: 'e', status: 'Executing'})")
    GraphWriter(neo4j).ensure_schema()
    GraphWriter(neo4j).ensure_schema()
    assert _labels(neo4j, "StepRun") == [{"StepRun", "Succeeded"}, {"StepRun"}]
    assert _labels(neo4j, "Job") == [{"Job", "Failed"}]
    assert _labels(neo4j, "PipelineExecution") == [{"PipelineExecution", "Executing"}]
