"""Terminal output: a live progress bar for long work (scans, syncs, backfills) and tables.

The bar shows only on a terminal (stderr); elsewhere it is silent and the logs carry the detail.
Work reports progress through a plain callable, `progress(message, done=None, total=None)`, so
the sources never know about the terminal.
"""
from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table


class Progress:
    """`with Progress() as p: work(progress=p.update)`."""

    def __init__(self, enabled: bool = True, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self._bar: RichProgress | None = None
        self._task: Any = None

    def update(self, message: str, done: int | None = None, total: int | None = None) -> None:
        if self._bar is None:
            return
        self._bar.update(self._task, description=message, completed=done or 0, total=total)

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=Console(file=self.stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
          right: Sequence[str] = ()) -> str:
    """A table as text (box-drawn; no colour codes, so it reads the same in a file or a pipe)."""
    grid = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for name in columns:
        grid.add_column(name, justify="right" if name in right else "left")
    for row in rows:
        grid.add_row(*("" if v is None else str(v) for v in row))
    out = io.StringIO()
    Console(file=out, width=120, color_system=None, force_terminal=False).print(grid)
    return out.getvalue().rstrip("\n")
