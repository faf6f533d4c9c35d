"""The `-o/--output FILE` option every writing command shares, checked before any work starts.

A report, export, snapshot or backtest page is only written at the end, so a path in a folder
that does not exist would otherwise cost a whole run and end in an `OSError`. The folder must
exist (it is not created: a typo should not scatter folders) and the path must not be a folder.
"""

from __future__ import annotations

from pathlib import Path

import click


def output_problem(path: Path) -> str | None:
    """Why `path` cannot be written as a new or replaced file, or None when it can."""
    if path.is_dir():
        return f"{path} is a folder; name a file in it"
    folder = path.parent
    if not folder.exists():
        return f"folder {folder} does not exist; create it first (mkdir -p {folder})"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder; choose another path"
    return None


class OutputFile(click.ParamType[Path, object]):
    """A file to write: its folder exists and it is not itself a folder."""

    name = "file"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path:
        path = value if isinstance(value, Path) else Path(str(value))
        problem = output_problem(path)
        if problem is not None:
            self.fail(problem, param, ctx)
        return path


OUTPUT_FILE = OutputFile()
