"""Bytes in, schema out: Parquet footers, CSV and JSON samples, read with pyarrow. Pure.

Every parser raises `Unreadable` with a reason a person can act on; none reads more than
it is given.
"""
from __future__ import annotations

import csv
import io
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from collector.s3.schema import Column, columns_of

PARQUET_MAGIC = b"PAR1"
PARQUET_TAIL = 8  # 4-byte little-endian metadata length + magic
GZIP_MAGIC = b"\x1f\x8b"
DELIMITERS = (",", "\t", ";", "|")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_HEADER_NAME = re.compile(r"^[A-Za-z_][\w .\-/()#%]*$")


class Unreadable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Parsed:
    columns: list[Column]
    row_count: int | None = None  # exact, from a Parquet footer
    row_groups: int | None = None
    sampled_rows: int | None = None  # CSV/JSON: rows the types were inferred from
    details: dict[str, Any] = field(default_factory=dict)


# --- Parquet ------------------------------------------------------------------------------


def parquet_metadata_length(tail: bytes, total: int) -> int:
    """The footer's metadata length, from the object's last 8 (or more) bytes."""
    if total < len(PARQUET_MAGIC) * 2 + 4:
        raise Unreadable(f"too small to be Parquet ({total} bytes)")
    magic = tail[-4:]
    if magic == b"PARE":
        raise Unreadable("encrypted Parquet footer (PARE): no key to read it")
    if magic != PARQUET_MAGIC:
        raise Unreadable("not a Parquet file: no PAR1 magic at the end")
    length: int = struct.unpack("<I", tail[-8:-4])[0]
    if length == 0 or length + PARQUET_TAIL + len(PARQUET_MAGIC) > total:
        raise Unreadable(f"corrupt Parquet footer: metadata length {length} does not fit a {total}-byte object")
    return length


def parse_parquet_footer(footer: bytes) -> Parsed:
    """`footer` is the metadata followed by its length and the magic: the object's last length+8 bytes."""
    try:
        metadata = pq.read_metadata(pa.BufferReader(PARQUET_MAGIC + footer))
        schema = metadata.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Unreadable(f"corrupt Parquet footer: {exc}") from None
    return Parsed(columns_of(schema), row_count=metadata.num_rows, row_groups=metadata.num_row_groups,
                  details={"created_by": metadata.created_by, "format_version": metadata.format_version})


# --- text samples ---------------------------------------------------------------------------


def gunzip_prefix(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Decompress what a prefix of a gzip object holds, up to `limit` bytes: (data, truncated)."""
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    try:
        out = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise Unreadable(f"corrupt gzip data: {exc}") from None
    return out, bool(inflater.unconsumed_tail) or not inflater.eof


def as_text(data: bytes) -> str:
    """Decode a sample as text, or say it is binary."""
    if b"\x00" in data[:65536]:
        raise Unreadable("binary content, not text (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            text = data[: exc.start].decode("utf-8")  # a character cut by the byte cap
        else:
            text = data.decode("latin-1")
    window = text[:65536]
    controls = sum(1 for ch in window if ord(ch) < 32 and ch not in "\t\r\n\f")
    if window and (controls > 8 and controls / len(window) > 0.01):
        raise Unreadable("binary content, not text (control characters)")
    return text.lstrip("\ufeff")


def _records(text: str, delimiter: str, limit: int) -> tuple[list[list[str]], list[int]]:
    """Up to `limit` non-empty CSV records and the text offset after each (quoted newlines included)."""
    stream = io.StringIO(text, newline="")
    consumed = 0

    def lines() -> Any:
        nonlocal consumed
        for line in stream:
            consumed += len(line)
            yield line

    rows: list[list[str]] = []
    ends: list[int] = []
    try:
        for row in csv.reader(lines(), delimiter=delimiter, quotechar='"'):
            if row and any(cell != "" for cell in row):
                rows.append(row)
                ends.append(consumed)
                if len(rows) >= limit:
                    break
    except csv.Error as exc:
        if not rows:
            raise Unreadable(f"not parseable as CSV: {exc}") from None
    return rows, ends


def sniff_delimiter(text: str) -> tuple[str, int]:
    """(delimiter, column count) that splits the first rows most consistently; (",", 1) if none does."""
    best = (0.0, 1, ",")
    head = text[:65536]
    for delimiter in DELIMITERS:
        if delimiter not in head:
            continue
        try:
            rows, _ = _records(head, delimiter, 20)
        except Unreadable:
            continue
        widths = [len(r) for r in rows[:-1] or rows]
        if not widths:
            continue
        mode = max(set(widths), key=widths.count)
        score = widths.count(mode) / len(widths)
        if mode > 1 and (score, mode) > best[:2]:
            best = (score, mode, delimiter)
    return best[2], best[1]


def has_header(rows: list[list[str]]) -> bool:
    first = rows[0]
    if any(cell.strip() == "" or _NUMBER.match(cell) for cell in first) or len(set(first)) != len(first):
        return False
    body = rows[1:51]
    if not body:
        return True
    for i in range(len(first)):
        values = [r[i] for r in body if i < len(r) and r[i].strip() != ""]
        if values and all(_NUMBER.match(v) for v in values):
            return True  # a numeric column under a text cell
    return all(_HEADER_NAME.match(cell.strip()) for cell in first) and all(r != first for r in body)


def parse_csv_sample(data: bytes, *, truncated: bool, max_rows: int, delimiter: str | None = None) -> Parsed:
    """Column names and types from the first rows. When the sample was cut, its last record may be
    partial and is dropped; quoted newlines and delimiters are handled by the CSV grammar."""
    if not data:
        raise Unreadable("empty object (0 bytes)")
    text = as_text(data)
    if not text.strip():
        raise Unreadable("no data: only whitespace")
    if delimiter is None:
        delimiter, _ = sniff_delimiter(text)
    rows, ends = _records(text, delimiter, max_rows + 1 + int(truncated))
    if truncated and len(rows) > 1:
        rows, ends = rows[:-1], ends[:-1]
    if not rows:
        raise Unreadable("no complete CSV row in the sample")
    header = has_header(rows)
    keep = min(len(rows), max_rows + int(header))
    sample = text[: ends[keep - 1]]
    names = rows[0] if header else [f"col_{i}" for i in range(max(len(r) for r in rows[:keep]))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(sample.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=int(header),
                                           block_size=max(len(sample) * 2, 1 << 16)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=lambda row: "skip"),
        )
    except (pa.ArrowException, ValueError) as exc:
        raise Unreadable(f"not parseable as CSV: {exc}") from None
    return Parsed(columns_of(table.schema), sampled_rows=table.num_rows,
                  details={"delimiter": delimiter, "header": header})


def parse_json_sample(data: bytes, *, truncated: bool, max_rows: int) -> Parsed:
    """A JSON array of records, JSON Lines, or one JSON document (one row)."""
    if not data:
        raise Unreadable("empty object (0 bytes)")
    text = as_text(data).strip()
    if not text:
        raise Unreadable("no data: only whitespace")
    rows: list[Any] | None
    if text[0] == "[":
        rows, kind = _array_records(text, max_rows, truncated), "array"
    else:
        rows, kind = _json_lines(text, max_rows, truncated), "lines"
        if rows is None:
            if truncated:
                raise Unreadable(f"one JSON document larger than the {len(data)}-byte sample")
            try:
                rows, kind = [json.loads(text)], "document"
            except ValueError as exc:
                raise Unreadable(f"not valid JSON: {exc}") from None
    records = [r if isinstance(r, dict) else {"value": r} for r in rows]
    if not records:
        raise Unreadable("no complete JSON record in the sample")
    payload = "\n".join(json.dumps(r) for r in records).encode()
    try:
        table = pajson.read_json(io.BytesIO(payload),
                                 read_options=pajson.ReadOptions(block_size=max(len(payload) + 1, 1 << 16)))
    except (pa.ArrowException, ValueError) as exc:
        raise Unreadable(f"JSON records without one schema: {exc}") from None
    return Parsed(columns_of(table.schema), sampled_rows=table.num_rows, details={"json": kind})


def _json_lines(text: str, max_rows: int, truncated: bool) -> list[Any] | None:
    lines = text.split("\n")
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    rows = []
    for line in lines:
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            return None
        if len(rows) >= max_rows:
            break
    return rows or None


def _array_records(text: str, max_rows: int, truncated: bool) -> list[Any]:
    decoder = json.JSONDecoder()
    rows: list[Any] = []
    position = 1
    while len(rows) < max_rows:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError as exc:
            if truncated and rows:
                break  # the element cut by the byte cap
            raise Unreadable(f"not valid JSON: {exc}") from None
        rows.append(value)
    return rows


def sniff_text_format(text: str) -> str:
    """For objects without an extension: json, csv, or text."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    delimiter, columns = sniff_delimiter(text)
    rows, _ = _records(text[:65536], delimiter, 3)
    return "csv" if columns > 1 and len(rows) >= 2 else "text"
