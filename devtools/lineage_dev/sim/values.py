"""Value helpers shared by the simulated account's modules.

Property paths into describe outputs, parameter types, stable generated ids,
plausible metric values, and request fields typed the way the SageMaker service
model wants them.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import datetime, timezone
from typing import Any

from lineage_dev.sim.moto_sagemaker import SERVICE_MODEL

_PATH_TOKEN = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def lookup(value: Any, path: str) -> Any:
    """Follow a property path like "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"."""
    for name, index, key1, key2 in _PATH_TOKEN.findall(path):
        key = name or key1 or key2
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and index:
            value = value[int(index)] if int(index) < len(value) else None
        elif isinstance(value, list) and key:
            value = next((v for v in value if isinstance(v, dict) and _named(v, key)), None)
        else:
            return None
    return value


def _named(item: dict[str, Any], name: str) -> bool:
    """Lists in describe outputs are indexed by their *Name field (OutputName, ChannelName...)."""
    return any(k.endswith("Name") and v == name for k, v in item.items())


def typed(kind: str, value: Any) -> Any:
    """A parameter value as its declared type (String, Integer, Float or Boolean)."""
    if value is None:
        return None
    if kind == "Integer":
        return int(value)
    if kind == "Float":
        return float(value)
    if kind == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def as_text(value: Any) -> str:
    """A value as SageMaker writes it in text (booleans lower-case, None empty)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def stable_id(seed: str, length: int) -> str:
    """`length` base-36 characters derived from `seed`: the same seed, the same id."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while len(out) < length:
        number, digit = divmod(number, 36)
        out += alphabet[digit]
    return out


def naive_utc(when: datetime) -> datetime:
    """moto keeps naive UTC datetimes."""
    return when if when.tzinfo is None else when.astimezone(timezone.utc).replace(tzinfo=None)


def metric_value(rng: random.Random, name: str) -> float:
    """A plausible value for a metric or report path, judged by its name."""
    lowered = name.lower()
    if "count" in lowered:
        return float(rng.randint(10_000, 500_000))
    if any(word in lowered for word in ("loss", "rmse", "mse", "mae", "error", "drift", "psi")):
        return round(rng.uniform(0.02, 0.3), 4)
    return round(rng.uniform(0.78, 0.96), 4)


def api_request(operation: str, args: dict[str, Any]) -> dict[str, Any]:
    """The request fields the operation accepts, typed as its input shape wants them.

    SageMaker substitutes parameter values into whatever field holds them (a Float
    parameter in ContainerArguments becomes a string); botocore needs exact types.
    """
    shape = SERVICE_MODEL.operation_model(operation).input_shape
    accepted = {k: v for k, v in args.items() if k in shape.members and v is not None}
    coerced: dict[str, Any] = _coerce(accepted, shape)
    return coerced


def _coerce(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _coerce(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(v, shape.value) for k, v in value.items()}
    if kind == "string" and isinstance(value, (bool, int, float)):
        return as_text(value)
    if kind in ("integer", "long", "float", "double") and isinstance(value, (str, int, float)):
        try:
            number = float(value)
        except ValueError:
            return value  # botocore will name the field
        return int(number) if kind in ("integer", "long") else number
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


def described(response: dict[str, Any]) -> dict[str, Any]:
    """A describe response without its ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
