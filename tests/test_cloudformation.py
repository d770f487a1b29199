"""deploy/cloudformation.yaml: cfn-lint clean, created in the simulated account, and kept equal to the code.

The stack tests create the template as it is in the moto server (`sim`, tests/conftest.py), where
devtools/lineage_dev/sim/moto_cfn.py supplies what moto's CloudFormation lacks (queue policies, most ECS
properties), and read what it made back through SQS, EventBridge, ECS, IAM and CloudWatch Logs. They put
the consumer's sample events on the default bus and check that each one lands in the queue and is an event
the consumer handles, and that the events it does not handle stay out.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, decode_str, lint

from collector.events import endpoints as endpoint_events
from collector.events import feature_store as feature_store_events
from collector.events import s3 as s3_events
from collector.events import sagemaker
from collector.events.envelope import parse_body
from collector.events.model import CloudEvent, S3ObjectEvent
from config.settings import Settings, load_settings
from tests import event_samples
from tests.transform_data import api, raw

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "cloudformation.yaml"
IAM_POLICY = ROOT / "deploy" / "iam-policy.json"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

# The two SQS statements of deploy/iam-policy.json name any queue (arn:aws:sqs:*:*:*); the template gives them
# this stack's queue and dead-letter queue. Every other statement is the same, resources included.
NARROWED_TO_THE_QUEUES = {"EventQueues", "DeadLetterReplay"}
WATCHED = ["acme-credit-data", "acme-ml-artifacts"]  # acme-credit-data: the bucket of the S3 sample events


def template() -> dict[str, Any]:
    decoded, problems = decode_str(TEMPLATE.read_text())
    assert not problems, [str(p) for p in problems]
    assert decoded is not None
    return decoded


def resources_of_type(tpl: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in tpl["Resources"].items() if res["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def env_names() -> set[str]:
    """The environment variables Settings reads (a field's alias, else LINEAGE_<FIELD>)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"LINEAGE_{name.upper()}")
    return names


def policy_differences(statements: list[dict[str, Any]], queue_resources: list[Any]) -> list[str]:
    """How `statements` differ from deploy/iam-policy.json's, given what the two queue statements name."""
    documented = json.loads(IAM_POLICY.read_text())["Statement"]
    problems = []
    if [s.get("Sid") for s in statements] != [s.get("Sid") for s in documented]:
        problems.append(f"statements {[s.get('Sid') for s in statements]} != {[s.get('Sid') for s in documented]}")
    for ours, theirs in zip(statements, documented, strict=False):
        sid = theirs["Sid"]
        if set(ours) != set(theirs):
            problems.append(f"{sid}: keys {sorted(ours)} != {sorted(theirs)}")
        if ours.get("Effect") != theirs["Effect"]:
            problems.append(f"{sid}: effect {ours.get('Effect')} != {theirs['Effect']}")
        actions, expected_actions = as_list(ours.get("Action")), as_list(theirs["Action"])
        if sorted(actions) != sorted(expected_actions):
            problems.append(f"{sid}: actions differ: {sorted(set(actions) ^ set(expected_actions))}")
        expected = as_list(theirs["Resource"])
        if sid in NARROWED_TO_THE_QUEUES:
            patterns, expected = expected, queue_resources
            broad = [arn for arn in expected if isinstance(arn, str) and not any(fnmatch.fnmatchcase(arn, p)
                                                                                   for p in patterns)]
            if broad:
                problems.append(f"{sid}: {broad} not within the documented {patterns}")
        got = as_list(ours.get("Resource"))
        if sorted(map(json.dumps, got)) != sorted(map(json.dumps, expected)):
            problems.append(f"{sid}: resources {got} != {expected}")
    return problems


# --- 1. cfn-lint --------------------------------------------------------------------------------------------


def test_cfn_lint_finds_no_error_or_warning():
    matches = lint(TEMPLATE.read_text(), config=ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"]))
    assert not matches, "\n".join(f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches)


# --- 3. the task role is deploy/iam-policy.json --------------------------------------------------------------


def test_task_role_policy_is_the_documented_policy():
    tpl = template()
    [policy] = tpl["Resources"]["TaskRole"]["Properties"]["Policies"]
    document = policy["PolicyDocument"]
    assert document["Version"] == json.loads(IAM_POLICY.read_text())["Version"]
    queues = [{"Fn::GetAtt": ["Queue", "Arn"]}, {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]
    assert policy_differences(document["Statement"], queues) == []


def test_the_comparison_notices_drift():
    statements = json.loads(IAM_POLICY.read_text())["Statement"]
    queues = ["arn:aws:sqs:eu-west-1:111122223333:q", "arn:aws:sqs:eu-west-1:111122223333:dlq"]
    ours = [dict(s, Resource=queues) if s["Sid"] in NARROWED_TO_THE_QUEUES else dict(s) for s in statements]
    assert policy_differences(ours, queues) == []
    ours[0] = dict(ours[0], Action=[*ours[0]["Action"], "sagemaker:ListEndpoints"])
    ours[1] = dict(ours[1], Resource=["arn:aws:s3:::acme-credit-data"])
    assert len(policy_differences(ours, queues)) == 2
    assert policy_differences(ours[:-1], queues)  # a statement left out


def test_execution_role_reads_only_the_password_secret():
    props = template()["Resources"]["ExecutionRole"]["Properties"]
    assert props["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}]
    statements = [s for p in props["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [(s["Effect"], as_list(s["Action"]), as_list(s["Resource"])) for s in statements] == [
        ("Allow", ["secretsmanager:GetSecretValue"], [{"Ref": "Neo4jPasswordSecretArn"}])]


# --- 4. the rules route what the consumer handles ------------------------------------------------------------


def routed_by_consumer() -> dict[str, set[str]]:
    """source -> detail-types the consumer applies, from its own code (CodeCommit pushes, which need
    LINEAGE_GIT_REPOS, are not part of this stack)."""
    return {sagemaker.SOURCE: sagemaker_routed(), "aws.s3": set(s3_events.EVENTBRIDGE_ACTIONS)}


def sagemaker_routed() -> set[str]:
    """The aws.sagemaker detail-types routed: the SageMaker, Feature Store and endpoint sources'."""
    return set(sagemaker.detail_types()) | set(feature_store_events.detail_types()) | set(endpoint_events.detail_types())


def rule_detail_types(patterns: list[dict[str, Any]]) -> dict[str, set[str]]:
    routed: dict[str, set[str]] = {}
    for pattern in patterns:
        [source] = pattern["source"]
        detail_types = set(pattern["detail-type"])
        assert not detail_types & routed.get(source, set()), f"{source}: a detail-type in two rules"
        routed.setdefault(source, set()).update(detail_types)
    return routed


def test_rules_carry_exactly_the_detail_types_the_consumer_routes():
    rules = resources_of_type(template(), "AWS::Events::Rule")
    assert rule_detail_types([r["Properties"]["EventPattern"] for r in rules.values()]) == routed_by_consumer()
    for name, rule in rules.items():
        assert rule["Properties"]["Targets"] == [{"Id": "lineage-queue", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}], name
    assert "SageMaker Endpoint State Change" in endpoint_events.detail_types()  # the endpoints source routes it


def test_health_check_and_settings_match_the_image_and_the_consumer():
    [container] = template()["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    line = DOCKERFILE.read_text().split("HEALTHCHECK", 1)[1].split("\nSTOPSIGNAL", 1)[0]
    options = dict(re.findall(r"--([a-z-]+)=(\d+)s?", line))
    image_command = json.loads(line.split("CMD", 1)[1].strip())
    check = container["HealthCheck"]
    assert check["Command"] == ["CMD", *image_command]
    assert (check["Interval"], check["Timeout"], check["StartPeriod"], check["Retries"]) == (
        int(options["interval"]), int(options["timeout"]), int(options["start-period"]), int(options["retries"]))
    env = {e["Name"]: e.get("Value") for e in container["Environment"] if isinstance(e, dict) and "Name" in e}
    assert f":{env['LINEAGE_HEALTH_PORT']}/health/live'" in image_command[-1]
    assert 30 <= container["StopTimeout"] <= 120  # the worker exits within ~20 s of SIGTERM (docs/events.md)
    assert int(env["LINEAGE_QUEUE_VISIBILITY_TIMEOUT"]) == \
        template()["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] == \
        Settings.model_fields["queue_visibility_timeout"].default


# --- 2. the stack in the simulated account -------------------------------------------------------------------


def network(sim: Any) -> tuple[str, list[str]]:
    ec2 = sim.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    return vpc, subnets


def create_stack(sim: Any, name: str, **parameters: str) -> dict[str, str]:
    cfn = sim.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE.read_text(), Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    [stack] = cfn.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def queue_url(sim: Any, url_output: str) -> str:
    """The simulated account's URL of a queue the stack output names."""
    return str(sim.client("sqs").get_queue_url(QueueName=url_output.rsplit("/", 1)[-1])["QueueUrl"])


def drain(sim: Any, url: str) -> list[dict[str, Any]]:
    sqs, bodies = sim.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(messages)])
    return bodies


def sample_events() -> list[dict[str, Any]]:
    """One event per detail-type the rules route: the project's fixtures, and its event builder on the API
    fixtures for the two job kinds that have no event fixture."""
    files = ["execution_succeeded", "step_training_succeeded", "training_job_completed", "processing_job_inprogress",
             "model_package_completed", "endpoint_in_service", "s3_object_created", "s3_object_deleted"]
    events = [raw(f"events/{name}.json") for name in files]
    when = datetime(2024, 6, 3, 9, 0, tzinfo=timezone.utc)
    for detail_type, fixture in (("SageMaker Transform Job State Change", "DescribeTransformJob.score"),
                                 ("SageMaker HyperParameter Tuning Job State Change",
                                  "DescribeHyperParameterTuningJob.fraud-hpo")):
        detail = event_samples._jsonable(api("sagemaker", fixture))
        events.append(event_samples.eventbridge(detail_type, detail, when))
    group = f"arn:aws:sagemaker:us-east-1:{event_samples.ACCOUNT}:feature-group/clickstream-sessions"
    events.append(event_samples.eventbridge(feature_store_events.FEATURE_GROUP_STATE, {
        "FeatureGroupArn": group, "FeatureGroupName": "clickstream-sessions", "FeatureGroupStatus": "Created",
        "RecordIdentifierFeatureName": "session_id", "EventTimeFeatureName": "event_time",
        "FeatureDefinitions": [{"FeatureName": "session_id", "FeatureType": "String"},
                               {"FeatureName": "event_time", "FeatureType": "Fractional"}],
        "CreationTime": event_samples.millis(when)}, when, resources=[group]))
    return events


def put(sim: Any, events: list[dict[str, Any]]) -> None:
    bus = sim.client("events")
    for event in events:
        answer = bus.put_events(Entries=[{
            "Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"], "Time": datetime.fromisoformat(event["time"].replace("Z", "+00:00"))}])
        assert answer["FailedEntryCount"] == 0, answer


def handled(body: dict[str, Any]) -> bool:
    """Whether the consumer applies this message: parsed, a SageMaker event it routes or an S3 object event."""
    items = parse_body(json.dumps(body))
    return bool(items) and all(
        isinstance(i, S3ObjectEvent) or (isinstance(i, CloudEvent) and (
            sagemaker.is_known(i) or feature_store_events.is_feature_store_event(i) or endpoint_events.is_known(i)))
        for i in items)


@pytest.fixture
def secret_arn(sim) -> str:
    secrets = sim.client("secretsmanager")
    return str(secrets.create_secret(Name="lineage/neo4j", SecretString=json.dumps({"password": "s3cret"}))["ARN"])


def test_stack_creates_queues_rules_service_and_roles(sim, secret_arn, monkeypatch, tmp_path):
    vpc, subnets = network(sim)
    outputs = create_stack(
        sim, "lineage", VpcId=vpc, SubnetIds=",".join(subnets), Neo4jUri="neo4j+s://graph.example.net",
        Neo4jDatabase="lineage", Neo4jPasswordSecretArn=secret_arn, Neo4jPasswordSecretKey="password",
        ContainerImage="111122223333.dkr.ecr.us-east-1.amazonaws.com/lineage-collector:1.0",
        WatchedBuckets=",".join(WATCHED), DesiredCount="2", Cpu="1024", Memory="2048", LogRetentionDays="14")
    sqs, bus = sim.client("sqs"), sim.client("events")

    # queues: the consumer's visibility timeout, a redrive policy to the DLQ after 5 receives
    url, dlq_url = queue_url(sim, outputs["QueueUrl"]), queue_url(sim, outputs["DeadLetterQueueUrl"])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == Settings.model_fields["queue_visibility_timeout"].default
    assert Settings.model_fields["queue_wait_seconds"].default <= int(attributes["ReceiveMessageWaitTimeSeconds"]) <= 20
    assert int(attributes["MessageRetentionPeriod"]) >= 4 * 86400
    assert int(dlq["MessageRetentionPeriod"]) == 14 * 86400
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 5}
    assert attributes["SqsManagedSseEnabled"] == dlq["SqsManagedSseEnabled"] == "true"
    assert "RedrivePolicy" not in dlq
    assert outputs["QueueArn"] == attributes["QueueArn"]

    # rules: each targets the queue, their detail-types are the consumer's
    names = bus.list_rule_names_by_target(TargetArn=attributes["QueueArn"])["RuleNames"]
    rules = [bus.describe_rule(Name=name) for name in names]
    assert len(rules) == 6 and all(r["State"] == "ENABLED" for r in rules)
    for rule in rules:
        assert [t["Arn"] for t in bus.list_targets_by_rule(Rule=rule["Name"])["Targets"]] == [attributes["QueueArn"]]
    patterns = [json.loads(r["EventPattern"]) for r in rules]
    assert rule_detail_types(patterns) == routed_by_consumer()
    assert all(p["account"] == [sim.account_id] for p in patterns)
    assert [p["detail"] for p in patterns if p["source"] == ["aws.s3"]] == [{"bucket": {"name": WATCHED}}]

    # the queue policy lets exactly these rules send, and nothing without TLS
    [allow] = [s for s in json.loads(attributes["Policy"])["Statement"] if s["Effect"] == "Allow"]
    assert (allow["Effect"], allow["Principal"], allow["Action"], allow["Resource"]) == (
        "Allow", {"Service": "events.amazonaws.com"}, "sqs:SendMessage", attributes["QueueArn"])
    assert sorted(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(r["Arn"] for r in rules)
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": sim.account_id}
    for policy, arn in ((attributes["Policy"], attributes["QueueArn"]), (dlq["Policy"], dlq["QueueArn"])):
        denied = [s for s in json.loads(policy)["Statement"] if s["Effect"] == "Deny"]
        assert denied == [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                           "Resource": arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]

    # every sample event arrives, once, as a message the consumer applies; the others stay out
    samples = sample_events()
    assert {(e["source"], e["detail-type"]) for e in samples} == {
        (source, dt) for source, types in routed_by_consumer().items() for dt in types}
    s3_samples = [e for e in samples if e["source"] == "aws.s3"]
    unknown = event_samples.eventbridge("SageMaker Image State Change", {"EndpointName": "credit-risk",
                                        "EndpointStatus": "IN_SERVICE"}, datetime.now(timezone.utc))
    other_bucket = json.loads(json.dumps(s3_samples[0]).replace("acme-credit-data", "acme-public-site"))
    restored = dict(s3_samples[0], **{"detail-type": "Object Restore Completed"})
    assert not handled(unknown) and not handled(restored)
    put(sim, [*samples, unknown, other_bucket, restored])
    received = drain(sim, url)
    assert sorted((b["source"], b["detail-type"]) for b in received) == sorted(
        (e["source"], e["detail-type"]) for e in samples)
    assert sorted(json.dumps(b["detail"]) for b in received if b["source"] == "aws.s3") == sorted(
        json.dumps(e["detail"]) for e in s3_samples)  # the watched bucket's only
    assert all(handled(body) for body in received)

    # the service: Fargate, the given subnets, the stack's security group, two workers
    ecs = sim.client("ecs")
    [service] = ecs.describe_services(cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])["services"]
    assert (service["desiredCount"], service["launchType"]) == (2, "FARGATE")
    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert (sorted(awsvpc["subnets"]), awsvpc["assignPublicIp"]) == (sorted(subnets), "DISABLED")
    [group] = sim.client("ec2").describe_security_groups(GroupIds=awsvpc["securityGroups"])["SecurityGroups"]
    assert (group["VpcId"], group["IpPermissions"]) == (vpc, [])

    # the task definition: the image's entry point with `run`, the settings the collector reads, the secret
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert (task["networkMode"], task["requiresCompatibilities"], task["cpu"], task["memory"]) == (
        "awsvpc", ["FARGATE"], "1024", "2048")
    [container] = task["containerDefinitions"]
    assert (container["image"], container["command"], container["essential"]) == (
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/lineage-collector:1.0", ["run"], True)
    assert 30 <= container["stopTimeout"] <= 120
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert set(env) <= env_names(), set(env) - env_names()
    assert container["secrets"] == [{"name": "NEO4J_PASSWORD", "valueFrom": f"{secret_arn}:password::"}]
    assert container["healthCheck"]["command"][-1].endswith(f":{env['LINEAGE_HEALTH_PORT']}/health/live', timeout=4)")
    for name in [n for n in os.environ if n.startswith(("LINEAGE_", "NEO4J_"))]:
        monkeypatch.delenv(name)
    for name, value in {**env, "NEO4J_PASSWORD": "s3cret"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env
    settings = load_settings()  # the collector accepts the environment as it starts
    assert settings.queue_urls == [outputs["QueueUrl"]]
    assert (settings.regions, settings.accounts) == ([sim.region], [sim.account_id])
    assert (settings.neo4j_uri, settings.neo4j_username, settings.neo4j_database) == (
        "neo4j+s://graph.example.net", "neo4j", "lineage")
    assert settings.queue_visibility_timeout == int(attributes["VisibilityTimeout"])
    assert settings.health_port == 8080

    # logs: the awslogs driver into the stack's log group, with its retention
    options = container["logConfiguration"]["options"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert (options["awslogs-group"], options["awslogs-region"]) == (outputs["LogGroupName"], sim.region)
    [group] = sim.client("logs").describe_log_groups(logGroupNamePrefix=outputs["LogGroupName"])["logGroups"]
    assert group["retentionInDays"] == 14

    # roles: the collector's policy on this stack's queues; the execution role reads the one secret
    iam = sim.client("iam")
    task_role = task["taskRoleArn"].rsplit("/", 1)[-1]
    [policy_name] = iam.list_role_policies(RoleName=task_role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=task_role, PolicyName=policy_name)["PolicyDocument"]
    assert policy_differences(document["Statement"], [attributes["QueueArn"], dlq["QueueArn"]]) == []
    execution_role = task["executionRoleArn"].rsplit("/", 1)[-1]
    [policy_name] = iam.list_role_policies(RoleName=execution_role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=execution_role, PolicyName=policy_name)["PolicyDocument"]
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [("secretsmanager:GetSecretValue", secret_arn)]
    for role in (task_role, execution_role):
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ecs-tasks.amazonaws.com"}]


def test_stack_on_an_existing_cluster_for_other_accounts_without_buckets(sim, secret_arn):
    vpc, subnets = network(sim)
    group = sim.client("ec2").create_security_group(GroupName="collector", Description="collector", VpcId=vpc)["GroupId"]
    cluster = sim.client("ecs").create_cluster(clusterName="platform")["cluster"]["clusterName"]
    outputs = create_stack(
        sim, "lineage-members", VpcId=vpc, SubnetIds=subnets[0], SecurityGroupIds=group, ClusterName=cluster,
        Neo4jUri="bolt://10.20.1.10:7687", Neo4jPasswordSecretArn=secret_arn, ContainerImage="lineage-collector:1.0",
        EventAccounts="111122223333,444455556666")
    arn = outputs["QueueArn"]
    bus = sim.client("events")

    # no S3 rule; the SageMaker rules accept the listed accounts only, and the policy names those
    rules = [bus.describe_rule(Name=n) for n in bus.list_rule_names_by_target(TargetArn=arn)["RuleNames"]]
    patterns = [json.loads(r["EventPattern"]) for r in rules]
    assert rule_detail_types(patterns) == {sagemaker.SOURCE: sagemaker_routed()}
    assert all(p["account"] == ["111122223333", "444455556666"] for p in patterns)
    url = queue_url(sim, outputs["QueueUrl"])
    policy = json.loads(sim.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                        ["Attributes"]["Policy"])
    assert sorted(policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(r["Arn"] for r in rules)

    # events of this account (the simulated one) are not among them: nothing arrives
    put(sim, [e for e in sample_events() if e["source"] == sagemaker.SOURCE])
    assert drain(sim, url) == []

    # the existing cluster and security group; the task has no NEO4J_DATABASE and the whole secret as password
    ecs = sim.client("ecs")
    assert outputs["ClusterName"] == cluster
    [service] = ecs.describe_services(cluster=cluster, services=[outputs["ServiceName"]])["services"]
    assert service["desiredCount"] == 1
    assert service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [group]
    [container] = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"][
        "containerDefinitions"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert "NEO4J_DATABASE" not in env and env["LINEAGE_ACCOUNTS"] == "111122223333,444455556666"
    assert container["secrets"] == [{"name": "NEO4J_PASSWORD", "valueFrom": secret_arn}]
    assert [g for g in sim.client("ec2").describe_security_groups()["SecurityGroups"]
            if g["GroupName"].startswith("lineage-members")] == []
