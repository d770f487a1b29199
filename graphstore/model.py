"""Plain graph data: what every parser produces and the one write path consumes.

A node is identified by (label, key); its key property name comes from the schema
(graphstore.schema.NODE_KEYS). `state` holds status-bearing properties that are
written only when `state_time` is not older than what the graph already holds.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

NodeRef = tuple[str, str]  # (label, key)


_UTC = timezone.utc


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

    @property
    def ref(self) -> NodeRef:
        return (self.label, self.key)


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
    ) -> NodeRef:
        ref = (label, key)
        new = Node(label, key, clean(props) if props else {}, tuple(extra_labels) if extra_labels else (),
                   clean(state) if state else {}, utc(state_time) if state_time is not None else None, state_rank)
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
                      state=node.state, state_time=node.state_time, state_rank=node.state_rank)
        for rel in other.rels.values():
            self.rel(rel.type, rel.start, rel.end, rel.props, merge_on=rel.merge_on)

    def __len__(self) -> int:
        return len(self.nodes) + len(self.rels)


def merge_node(old: Node, new: Node) -> None:
    old.props.update(new.props)
    if new.extra_labels and new.extra_labels != old.extra_labels:
        old.extra_labels = tuple(dict.fromkeys(old.extra_labels + new.extra_labels))
    if new.state and (old.state_time is None or (new.state_time is not None and
                      (new.state_time, new.state_rank) >= (old.state_time, old.state_rank))):
        old.state.update(new.state)
        old.state_time, old.state_rank = new.state_time, new.state_rank


def merge_into(target: Graph, source: Graph) -> None:
    """Graph.update, without cleaning again what a Graph already holds clean (the group merge is hot)."""
    for ref, node in source.nodes.items():
        old = target.nodes.get(ref)
        if old is None:
            target.nodes[ref] = Node(node.label, node.key, dict(node.props), node.extra_labels, dict(node.state),
                                     node.state_time, node.state_rank)
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
