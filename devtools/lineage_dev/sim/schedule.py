"""Walking a pipeline definition: which steps run, in what order, when and how they end.

Only the taken branch of each Condition step runs; a step depends on the steps it
names in DependsOn or reads through {"Get": "Steps...."}, and on its Condition.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from lineage_dev.sim.values import naive_utc

DURATIONS = {  # seconds, (min, max)
    "Processing": (180, 720), "Training": (720, 2700), "Tuning": (2400, 5400),
    "Transform": (300, 900), "Model": (10, 40), "CreateModel": (10, 40), "RegisterModel": (5, 20),
    "Condition": (1, 3), "Fail": (1, 2), "Lambda": (5, 90), "Callback": (120, 1800),
    "EMR": (300, 1200), "EMRServerless": (300, 1200), "QualityCheck": (300, 600),
    "ClarifyCheck": (360, 720), "AutoML": (3600, 7200), "NotebookJob": (600, 1200),
}
JOB_STEP_TYPES = {"Processing", "Training", "Tuning", "Transform", "NotebookJob", "QualityCheck", "ClarifyCheck"}


@dataclass
class Slot:
    """One step run: its place in the schedule and how it ends."""

    name: str
    type: str
    deps: set[str]
    start: datetime = datetime.min
    end: datetime | None = None
    status: str = "Succeeded"
    failure: str | None = None
    cached: bool = False


def taken_steps(
    steps: list[dict[str, Any]], outcomes: dict[str, bool], parent: str | None = None
) -> dict[str, dict[str, Any]]:
    """Steps that run, in definition order, with an implicit dependency on their Condition."""
    taken: dict[str, dict[str, Any]] = {}
    for step in steps:
        taken[step["Name"]] = {**step, "_parent": parent}
        if step["Type"] == "Condition":
            branch = "IfSteps" if outcomes.get(step["Name"], True) else "ElseSteps"
            taken.update(taken_steps(step["Arguments"].get(branch, []), outcomes, step["Name"]))
    return taken


def _references(value: Any) -> set[str]:
    """Step names referenced by {"Get": "Steps.X..."} anywhere in `value`."""
    if isinstance(value, dict):
        found = set()
        if isinstance(value.get("Get"), str) and value["Get"].startswith("Steps."):
            found.add(value["Get"].split(".")[1].split("[")[0])
        for key, item in value.items():
            if key not in ("IfSteps", "ElseSteps"):
                found |= _references(item)
        return found
    if isinstance(value, list):
        return set().union(*map(_references, value)) if value else set()
    return set()


def _dependencies(step: dict[str, Any], taken: dict[str, dict[str, Any]]) -> set[str]:
    deps = set(step.get("DependsOn") or []) | _references(step)
    if step["_parent"]:
        deps.add(step["_parent"])
    deps.discard(step["Name"])
    return {d for d in deps if d in taken}


def _topological(taken: dict[str, dict[str, Any]]) -> list[Slot]:
    slots = {name: Slot(name, step["Type"], _dependencies(step, taken)) for name, step in taken.items()}
    ordered: list[Slot] = []
    done: set[str] = set()
    while len(ordered) < len(slots):
        ready = [s for s in slots.values() if s.name not in done and s.deps <= done]
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(set(slots) - done)}")
        ordered.append(ready[0])
        done.add(ready[0].name)
    return ordered


def schedule(
    taken: dict[str, dict[str, Any]], start: datetime, rng: random.Random, cached: set[str]
) -> list[Slot]:
    """Step runs in dependency order, each starting after its dependencies end (cache hits are quick)."""
    slots = _topological(taken)
    ends: dict[str, datetime] = {}
    for slot in slots:
        ready = max((ends[d] for d in slot.deps), default=start + timedelta(seconds=rng.randint(5, 20)))
        slot.start = ready + timedelta(seconds=rng.randint(3, 25))
        slot.cached = slot.name in cached
        low, high = (2, 6) if slot.cached else DURATIONS.get(slot.type, (30, 120))
        slot.end = ends[slot.name] = slot.start + timedelta(seconds=rng.randint(low, high))
    return slots


def apply_outcome(
    slots: list[Slot], status: str, failed_step: str | None, now: datetime | None
) -> tuple[str, str | None, list[Slot]]:
    """Final execution status, failure reason and the step runs that happened."""
    if not slots:
        return status, None, []
    by_name = {s.name: s for s in slots}
    fail_steps = [s for s in slots if s.type == "Fail"]
    if status == "Executing":
        return status, None, _cut_executing(slots, naive_utc(now or datetime.now(timezone.utc)))
    if status == "Succeeded" and not fail_steps:
        return status, None, slots
    failing = by_name[failed_step] if failed_step else (fail_steps[0] if fail_steps else slots[-1])
    assert failing.end is not None
    kept = [s for s in slots if s is failing or s.start < failing.end]
    if status == "Stopped":  # a stop request ends everything that is still running
        for slot in kept:
            if slot.end and slot.end >= failing.end:
                slot.status, slot.end = "Stopped", failing.end
        return "Stopped", None, kept
    failing.status = "Failed"  # steps already running finish; nothing new starts
    if failing.type != "Fail":
        failing.failure = _failure_message(failing)
    return "Failed", "Step failure: One or multiple steps failed.", kept


def _cut_executing(slots: list[Slot], now: datetime) -> list[Slot]:
    cutoff = min(now, max(s.start for s in slots) + timedelta(seconds=60))
    cutoff = max(cutoff, min(s.start for s in slots) + timedelta(seconds=1))
    kept = [s for s in slots if s.start <= cutoff]
    running = [s for s in kept if s.end and s.end > cutoff] or [max(kept, key=lambda s: s.start)]
    for slot in running:
        slot.status, slot.end = "Executing", None
    return kept


def _failure_message(slot: Slot) -> str:
    if slot.type in JOB_STEP_TYPES:
        return ("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage \"ValueError: "
                "Input contains NaN\"\nCommand \"/usr/bin/python3 script.py\", exit code: 1")
    return f"ClientError: step {slot.name} failed: internal simulated error"


def cache_eligible(definition: dict[str, Any], taken: dict[str, dict[str, Any]], source: Any) -> set[str]:
    """Steps that may reuse `source`'s step runs (all job steps where the definition has no CacheConfig)."""
    if source is None:
        return set()
    previous = {s["StepName"] for s in getattr(source, "sim_steps", []) if s["StepStatus"] == "Succeeded"}
    configured = [n for n, s in taken.items() if (s.get("CacheConfig") or {}).get("Enabled")]
    if not any("CacheConfig" in s for s in definition.get("Steps", [])):
        configured = [n for n, s in taken.items() if s["Type"] in JOB_STEP_TYPES]
    return {n for n in configured if n in previous}


def json_get_paths(definition: Any) -> dict[tuple[str, str], set[str]]:
    """(step, property file) -> the JsonGet paths read from it anywhere in the definition."""
    found: dict[tuple[str, str], set[str]] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            json_get = value.get("Std:JsonGet")
            source = json_get.get("PropertyFile") if isinstance(json_get, dict) else None
            if isinstance(source, dict) and str(source.get("Get", "")).startswith("Steps."):
                _, step, _, name = (source["Get"].split(".") + ["", "", "", ""])[:4]
                found.setdefault((step, name), set()).add(str(json_get.get("Path", "")))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(definition)
    return found
