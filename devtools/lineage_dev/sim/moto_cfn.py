"""CloudFormation extension for moto's server, so that deploy/cloudformation.yaml creates in the simulated
account what it creates in AWS (tests/test_cloudformation.py reads it back through the service APIs).

What moto 5 does with that template, and what changes here:

* `AWS::SQS::QueuePolicy`: moto has no such resource type; it skips it with a warning and the queues keep
  no policy. Here a queue policy sets the `Policy` attribute of each queue it names (as JSON, like SetQueue-
  Attributes) and clears it when the policy is deleted.
* `AWS::ECS::TaskDefinition` and `AWS::ECS::Service`: moto's CloudFormation code passes only the family,
  containers, volumes and memory (a service: cluster, name, count and task definition), so the task and
  execution roles, network mode, compatibilities, task CPU and runtime platform (a service's launch type,
  platform version, network configuration and tag propagation) are lost. Here every property that moto's
  ECS backend takes is passed on, keys in the API's camelCase.
* `!Ref AWS::NoValue` as a list item (`!If [cond, item, !Ref AWS::NoValue]`): CloudFormation drops the
  item, moto keeps a null in the list. The resources here drop such items (moto's resolver is left as it is:
  importing it loads every moto backend, seconds of start-up for each sim).
* `AWS::IAM::Role` inline `Policies`: moto stored each document as a Python dict, which GetRolePolicy
  then returned as its `repr`. Here they are stored as JSON text, as PutRolePolicy stores them.

`install()` runs on the simulated account's first CloudFormation request (server.py), not at start: moto's
ECS models import all of its EC2, seconds of start-up that no other test needs. QueuePolicy is registered
with moto as soon as this module is imported (moto finds resource types among CloudFormationModel's subclasses).
"""
from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import sqs_backends

if TYPE_CHECKING:
    from moto.ecs.models import Service, TaskDefinition
    from moto.iam.models import Role

_installed: list[bool] = []
_lock = threading.Lock()


def _present(value: Any) -> Any:
    """`value` without the null items that `!Ref AWS::NoValue` left in its lists."""
    if isinstance(value, list):
        return [_present(item) for item in value if item is not None]
    if isinstance(value, dict):
        return {key: _present(item) for key, item in value.items()}
    return value


def _properties(cloudformation_json: Any) -> dict[str, Any]:
    return dict(_present(cloudformation_json.get("Properties") or {}))


def _camel(value: Any) -> Any:
    return None if value is None else remap_nested_keys(value, pascal_to_camelcase)


def _queue_name(url_or_name: str) -> str:
    return str(url_or_name).rstrip("/").rsplit("/", 1)[-1]


class QueuePolicy(CloudFormationModel):
    """An AWS::SQS::QueuePolicy: one policy document set on each of its queues."""

    def __init__(self, name: str, queues: list[str], document: str, account_id: str, region_name: str) -> None:
        self.name, self.queues, self.document = name, queues, document
        self.account_id, self.region_name = account_id, region_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.name
        raise NotImplementedError(attribute_name)

    def _apply(self, document: str | None, queues: list[str] | None = None) -> None:
        backend = sqs_backends[self.account_id][self.region_name]
        for name in queues if queues is not None else self.queues:
            try:
                queue = backend.get_queue(name)
            except QueueDoesNotExist:
                continue
            queue.policy = document

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any,
    ) -> QueuePolicy:
        properties = _properties(cloudformation_json)
        queues = [_queue_name(queue) for queue in properties["Queues"]]
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        policy = cls(resource_name, queues, text, account_id, region_name)
        policy._apply(text)
        return policy

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: QueuePolicy, new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> QueuePolicy:
        updated = cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id,
                                                      region_name)
        original_resource._apply(None, [q for q in original_resource.queues if q not in updated.queues])
        return updated

    def delete(self, account_id: str, region_name: str) -> None:
        self._apply(None)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
    ) -> None:
        return None  # only reached when the resource object is gone; `delete` clears the queues' policy


def _task_definition(cls: type[TaskDefinition], /, resource_name: str, cloudformation_json: Any, account_id: str,
                     region_name: str, **kwargs: Any) -> TaskDefinition:
    from moto.ecs.models import ecs_backends

    properties = _properties(cloudformation_json)
    return ecs_backends[account_id][region_name].register_task_definition(
        family=properties.get("Family", resource_name),
        container_definitions=_camel(properties.get("ContainerDefinitions", [])),
        volumes=_camel(properties.get("Volumes", [])),
        network_mode=properties.get("NetworkMode"),
        tags=_camel(properties.get("Tags")),
        placement_constraints=_camel(properties.get("PlacementConstraints")),
        requires_compatibilities=properties.get("RequiresCompatibilities"),
        cpu=properties.get("Cpu"),
        memory=properties.get("Memory"),
        task_role_arn=properties.get("TaskRoleArn"),
        execution_role_arn=properties.get("ExecutionRoleArn"),
        runtime_platform=_camel(properties.get("RuntimePlatform")),
        ipc_mode=properties.get("IpcMode"),
        pid_mode=properties.get("PidMode"),
        ephemeral_storage=_camel(properties.get("EphemeralStorage")),
    )


def _service(cls: type[Service], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
             **kwargs: Any) -> Service:
    from moto.ecs.models import Cluster, TaskDefinition, ecs_backends

    properties = _properties(cloudformation_json)
    cluster = properties.get("Cluster", "default")
    task_definition = properties.get("TaskDefinition")
    count = properties.get("DesiredCount")
    return ecs_backends[account_id][region_name].create_service(
        cluster.name if isinstance(cluster, Cluster) else cluster,
        properties.get("ServiceName", resource_name),
        int(count) if count is not None else None,  # type: ignore[arg-type]
        task_definition_str=task_definition.arn if isinstance(task_definition, TaskDefinition) else task_definition,
        load_balancers=_camel(properties.get("LoadBalancers")),
        scheduling_strategy=properties.get("SchedulingStrategy"),
        tags=_camel(properties.get("Tags")),
        deployment_controller=_camel(properties.get("DeploymentController")),
        launch_type=properties.get("LaunchType"),
        service_registries=_camel(properties.get("ServiceRegistries")),
        platform_version=properties.get("PlatformVersion"),
        propagate_tags=properties.get("PropagateTags", "NONE"),
        network_configuration=_camel(properties.get("NetworkConfiguration")),
        role_arn=properties.get("Role"),
    )


def install() -> None:
    with _lock:
        if not _installed:
            _install()
            _installed.append(True)


def _install() -> None:
    from moto.ecs.models import Service, TaskDefinition
    from moto.iam.models import Role

    original_role = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def role(cls: type[Role], /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
             **kwargs: Any) -> Role:
        created: Role = original_role(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        for name, document in list(created.policies.items()):
            if not isinstance(document, str):
                created.put_policy(name, json.dumps(_present(document)))
        return created

    TaskDefinition.create_from_cloudformation_json = classmethod(_task_definition)  # type: ignore[method-assign,assignment]
    Service.create_from_cloudformation_json = classmethod(_service)  # type: ignore[method-assign,assignment]
    Role.create_from_cloudformation_json = classmethod(role)  # type: ignore[method-assign,assignment]
    parsing = sys.modules.get("moto.cloudformation.parsing")
    if parsing is not None:  # its model map, once built, would not know QueuePolicy (a new CloudFormationModel)
        parsing.get_model_map.cache_clear()
        parsing.get_name_type_map.cache_clear()
