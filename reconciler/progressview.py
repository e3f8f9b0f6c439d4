"""How the CLI shows an apply's progress on stderr (shell; the words come from `render.human`).

On a terminal: a rich progress bar whose ETA is the pacing's (`pace.ApplyProgress.eta_seconds`:
messages left / rate, never a guess from past speed), with a line above it per finished change
and per wait. Elsewhere (CI logs, pipes): the same lines, one per event, and no bar.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from reconciler.pace import ApplyProgress
from reconciler.render.human import render_progress, render_progress_status, render_waiting

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class ProgressView:
    """A context manager, called with every `ApplyProgress` of one apply of `total` changes."""

    def __init__(self, total: int, *, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.bar = self.stream.isatty() if bar is None else bar
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressView:
        if self.bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            console = Console(file=self.stream)
            self._progress = Progress(
                TextColumn("Applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, progress: ApplyProgress) -> None:
        line = render_progress(progress.outcome) if progress.outcome is not None else ""
        if progress.waiting is not None:
            line += render_waiting(progress.waiting)
        if self._progress is None or self._task is None:
            self.stream.write(line)
            self.stream.flush()
            return
        self._progress.console.print(line, end="", markup=False, highlight=False, soft_wrap=True)
        self._progress.update(self._task, completed=progress.done, description=render_progress_status(progress))
