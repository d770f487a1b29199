"""Plain graph data: what every parser produces and the one write path consumes.

A node is identified by (label, key); its key property name comes from the schema
(graphstore.schema.NODE_KEYS). `state` holds status-bearing properties that are
written only when the state is not older than what the graph already holds.

How old a state is (its `as_of`): an event's state is as of its `state_time` (the time the event
reports); a state read from AWS (a Describe/List call, `observed`) is as of the moment of the read,
`observed_at`, whatever older `state_time` AWS gives it. So a read made after an event's time
overrides that event's state, and an event overrides a read only when it is stamped after the read.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

NodeRef = tuple[str, str]  # (label, key)


_UTC = timezone.utc
# A read is taken as the state one second before it was made: event times have one-second precision, so an
# event of the same second as the read (a change the read may just have missed) still wins over it.
READ_MARGIN = timedelta(seconds=1)


def utc(value: datetime) -> datetime:
    if value.tzinfo is _UTC:
        return value
    return value.astimezone(_UTC) if value.tzinfo else value.replace(tzinfo=_UTC)


def clean(props: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values (a missing fact must not erase a known one) and normalise datetimes to UTC."""
    out: dict[str, Any] = {}
    for name, value in props.items():
        if value is None:
            continue
        out[name] = utc(value) if isinstance(value, datetime) else value
    return out


@dataclass(slots=True)
class Node:
    label: str
    key: str
    props: dict[str, Any] = field(default_factory=dict)
    extra_labels: tuple[str, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)
    state_time: datetime | None = None
    state_rank: int = 0  # tie-breaker at equal times: a terminal status outranks a running one
    observed_at: datetime | None = None  # the state was read from AWS: as of this time (see `observed`)

    @property
    def ref(self) -> NodeRef:
        return (self.label, self.key)

    @property
    def as_of(self) -> datetime | None:
        """The time the state is known to hold: a read's observation time, else the state's own time."""
        return self.observed_at if self.observed_at is not None else self.state_time


@dataclass(slots=True)
class Rel:
    type: str
    start: NodeRef
    end: NodeRef
    props: dict[str, Any] = field(default_factory=dict)
    # Properties that are part of the relationship's identity, e.g. PRECEDES {via}.
    merge_on: tuple[str, ...] = ()

    @property
    def identity(self) -> tuple[Any, ...]:
        if not self.merge_on:
            return (self.type, self.start, self.end, ())
        return (self.type, self.start, self.end, tuple(self.props.get(p) for p in self.merge_on))


@dataclass
class Graph:
    """An ordered, de-duplicated bag of nodes and relationships."""

    nodes: dict[NodeRef, Node] = field(default_factory=dict)
    rels: dict[tuple[Any, ...], Rel] = field(default_factory=dict)

    def node(
        self,
        label: str,
        key: str,
        props: Mapping[str, Any] | None = None,
        *,
        extra_labels: Iterable[str] = (),
        state: Mapping[str, Any] | None = None,
        state_time: datetime | None = None,
        state_rank: int = 0,
        observed_at: datetime | None = None,
    ) -> NodeRef:
        ref = (label, key)
        new = Node(label, key, clean(props) if props else {}, tuple(extra_labels) if extra_labels else (),
                   clean(state) if state else {}, utc(state_time) if state_time is not None else None, state_rank,
                   utc(observed_at) if observed_at is not None else None)
        old = self.nodes.get(ref)
        if old is None:
            self.nodes[ref] = new
        else:
            merge_node(old, new)
        return ref

    def rel(self, type_: str, start: NodeRef, end: NodeRef, props: Mapping[str, Any] | None = None,
            *, merge_on: Iterable[str] = ()) -> None:
        nodes = self.nodes
        if start not in nodes:
            self.node(*start)
        if end not in nodes:
            self.node(*end)
        new = Rel(type_, start, end, clean(props) if props else {}, tuple(merge_on) if merge_on else ())
        identity = new.identity
        old = self.rels.get(identity)
        if old is None:
            self.rels[identity] = new
        else:
            old.props.update(new.props)

    def update(self, other: Graph) -> None:
        for node in other.nodes.values():
            self.node(node.label, node.key, node.props, extra_labels=node.extra_labels,
                      state=node.state, state_time=node.state_time, state_rank=node.state_rank,
                      observed_at=node.observed_at)
        for rel in other.rels.values():
            self.rel(rel.type, rel.start, rel.end, rel.props, merge_on=rel.merge_on)

    def __len__(self) -> int:
        return len(self.nodes) + len(self.rels)


def supersedes(new: Node, old: Node) -> bool:
    """Whether `new`'s state replaces `old`'s: it is as of a later time (at an equal time, of a rank not lower).
    The same rule as GraphWriter's guard in Neo4j, so merging in memory first changes nothing."""
    if not new.state:
        return False
    old_as_of, new_as_of = old.as_of, new.as_of
    if old_as_of is None:
        return True
    return new_as_of is not None and (new_as_of, new.state_rank) >= (old_as_of, old.state_rank)


def merge_node(old: Node, new: Node) -> None:
    old.props.update(new.props)
    if new.extra_labels and new.extra_labels != old.extra_labels:
        old.extra_labels = tuple(dict.fromkeys(old.extra_labels + new.extra_labels))
    if supersedes(new, old):
        # A read is the whole state as AWS has it; an event adds what it reports to what is known.
        if new.observed_at is not None:
            old.state = dict(new.state)
        else:
            old.state.update(new.state)
        old.state_time, old.state_rank, old.observed_at = new.state_time, new.state_rank, new.observed_at


def observed(graph: Graph, at: datetime) -> Graph:
    """Mark the states of a graph built from AWS reads made from `at` on (the time before the first call):
    each is then as of `at` minus READ_MARGIN, and replaces whatever state it supersedes whole."""
    when = utc(at) - READ_MARGIN
    for node in graph.nodes.values():
        if node.state:
            node.observed_at = when
            if node.state_time is None:
                node.state_time = when
    return graph


def merge_into(target: Graph, source: Graph) -> None:
    """Graph.update, without cleaning again what a Graph already holds clean (the group merge is hot)."""
    for ref, node in source.nodes.items():
        old = target.nodes.get(ref)
        if old is None:
            target.nodes[ref] = Node(node.label, node.key, dict(node.props), node.extra_labels, dict(node.state),
                                     node.state_time, node.state_rank, node.observed_at)
        else:
            merge_node(old, node)
    for identity, rel in source.rels.items():
        existing = target.rels.get(identity)
        if existing is None:
            target.rels[identity] = Rel(rel.type, rel.start, rel.end, dict(rel.props), rel.merge_on)
        else:
            existing.props.update(rel.props)


@dataclass
class WriteStats:
    nodes: int = 0
    relationships: int = 0
    transactions: int = 0
    seconds: float = 0.0
    by_label: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    finish_result: Any = None  # what `finish` returned in the transaction that committed

    def add(self, other: WriteStats) -> None:
        self.nodes += other.nodes
        self.relationships += other.relationships
        self.transactions += other.transactions
        self.seconds += other.seconds
        for label, count in other.by_label.items():
            self.by_label[label] += count
