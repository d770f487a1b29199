"""A one-line progress display on a terminal; silent elsewhere (logs carry the detail)."""
from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    def __init__(self, enabled: bool = True, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.started = time.perf_counter()

    def update(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            self.stream.write(f"\r\033[K[{elapsed:6.1f}s] {message}")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
