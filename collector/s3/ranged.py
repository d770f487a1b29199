"""A read-only, seekable file over one S3 object, served by ranged GETs.

For readers (pyarrow's ORC and Parquet readers) that seek to the end and read what they need: the
first suffix read usually holds the whole tail, so the file's metadata costs one GET; whatever else
they ask for is fetched by range and kept, never the whole object unless they read it all.
"""
from __future__ import annotations

import io
from typing import Any

from collector.s3.objects import ObjectReader, ObjectRef, ReadFailed


class RangedFile(io.RawIOBase):
    def __init__(self, reader: ObjectReader, obj: ObjectRef, tail_bytes: int = 64 << 10) -> None:
        super().__init__()
        self.reader, self.obj = reader, obj
        first = reader.tail(obj, tail_bytes)
        self.size = first.total if first.total is not None else len(first.data)
        self._chunks: list[tuple[int, bytes]] = [(self.size - len(first.data), first.data)]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self._pos)
        if want <= 0:
            return 0
        data = self._cached(self._pos, want)
        if data is None:
            chunk = self.reader.range(self.obj, self._pos, self._pos + want - 1)
            if len(chunk.data) < want:
                raise ReadFailed(f"short ranged read of {self.obj.uri} at {self._pos}")
            data = chunk.data[:want]
            self._chunks.append((self._pos, data))
        buffer[:want] = data
        self._pos += want
        return want

    def _cached(self, start: int, length: int) -> bytes | None:
        for offset, data in self._chunks:
            if offset <= start and start + length <= offset + len(data):
                return data[start - offset:start - offset + length]
        return None
