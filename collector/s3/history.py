"""A dataset's schema history from its partitions: one object per partition, oldest first.

Each partition stands for the oldest object in it (its LastModified is the partition's time);
partitions are ordered by that time, then by their path. Up to `limit` partitions every one is
read; above it the first, the last and evenly spaced ones between, then between two read
neighbours whose schemas differ the middle one, again and again, until the first partition of each
change is found. That assumes a schema does not change and change back within one gap between
samples. Consecutive identical schemas fold into versions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise

from collector.s3.extract import Observation
from collector.s3.objects import ObjectRef
from collector.s3uri import split

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Partition:
    path: str  # relative to the dataset: "dt=2024-01-31/region=eu/"; "" for objects at its root
    time: datetime
    object: ObjectRef


@dataclass
class HistoryVersion:
    first: Partition
    last: Partition
    observation: Observation  # of the first partition
    partitions_read: int = 1

    @property
    def fingerprint(self) -> str:
        assert self.observation.fingerprint is not None
        return self.observation.fingerprint


@dataclass
class History:
    dataset: str
    partitions: int
    sampled: bool
    read: dict[int, Observation] = field(default_factory=dict)
    versions: list[HistoryVersion] = field(default_factory=list)

    @property
    def bytes_read(self) -> int:
        return sum(o.bytes_read for o in self.read.values())

    @property
    def requests(self) -> int:
        return sum(o.requests for o in self.read.values())

    @property
    def unreadable(self) -> int:
        return sum(1 for o in self.read.values() if o.status != "ok")


def partitions_of(dataset: str, objects: list[ObjectRef]) -> list[Partition]:
    """The dataset's partitions (folders below it), each with its oldest non-empty object, oldest first."""
    prefix = split(dataset)[1]
    oldest: dict[str, ObjectRef] = {}
    for obj in objects:
        if not obj.key.startswith(prefix) or obj.size == 0:
            continue
        path = obj.key[len(prefix):].rpartition("/")[0]
        path = f"{path}/" if path else ""
        held = oldest.get(path)
        if held is None or (obj.modified or _EPOCH, obj.key) < (held.modified or _EPOCH, held.key):
            oldest[path] = obj
    parts = [Partition(path, obj.modified or _EPOCH, obj) for path, obj in oldest.items()]
    return sorted(parts, key=lambda p: (p.time, p.path))


def spaced(count: int, limit: int) -> list[int]:
    """`limit` indices from 0 to count-1, evenly spaced, both ends included."""
    if count <= limit:
        return list(range(count))
    limit = max(limit, 2)
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def read_history(dataset: str, parts: list[Partition], read: Callable[[ObjectRef], Observation],
                 limit: int) -> History:
    history = History(dataset, len(parts), sampled=len(parts) > limit)

    def get(i: int) -> Observation:
        if i not in history.read:
            history.read[i] = read(parts[i].object)
        return history.read[i]

    for i in spaced(len(parts), limit):
        get(i)
    if history.sampled:
        ok = [i for i in sorted(history.read) if history.read[i].status == "ok"]
        for lo, hi in pairwise(ok):
            _refine(lo, hi, get)
    history.versions = fold(parts, history.read)
    return history


def _refine(lo: int, hi: int, get: Callable[[int], Observation]) -> None:
    """Read between two readable partitions with different schemas until they are neighbours."""
    if hi - lo <= 1 or get(lo).fingerprint == get(hi).fingerprint:
        return
    middle = (lo + hi) // 2
    for mid in dict.fromkeys((middle, middle + 1, middle - 1)):  # step over an unreadable middle, a little
        if lo < mid < hi and get(mid).status == "ok":
            _refine(lo, mid, get)
            _refine(mid, hi, get)
            return


def fold(parts: list[Partition], read: dict[int, Observation]) -> list[HistoryVersion]:
    versions: list[HistoryVersion] = []
    for i in sorted(read):
        obs = read[i]
        if obs.status != "ok" or obs.fingerprint is None:
            continue
        if versions and versions[-1].fingerprint == obs.fingerprint:
            versions[-1].last = parts[i]
            versions[-1].partitions_read += 1
        else:
            versions.append(HistoryVersion(parts[i], parts[i], obs))
    return versions
