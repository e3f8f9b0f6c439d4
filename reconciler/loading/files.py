"""Which files under the meetings directory are meeting files, and what else lies there.

A file that is not read declares no meeting, so a meeting written into it would be cancelled by the
next apply: nothing is skipped without a word unless it is plainly not a meeting.

- `*.yaml` and `*.yml` (any case) are meeting files, in any directory below the meetings directory;
  a directory is walked whatever its name, so `x.yaml/` is read as a folder of meeting files.
- Skipped silently: names starting with "." (`.git/`, `.gitkeep`, editor swap files, drafts kept
  hidden on purpose) and Markdown files (`*.md`: READMEs and notes next to the meetings).
- Skipped with a warning naming the file: everything else (`x.json`, `x.yaml~`, `x.yaml.bak`, a
  file without extension).
- Symbolic links are followed, to files and to directories. Each directory is read once, through
  one path: a link into the meetings directory, to a directory read already, or to one of its own
  ancestors (a loop) is an error at the link, and so is a broken link or one whose target is
  outside both the repository root and the meetings directory (a CI checkout would not hold it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Diagnostic
from reconciler.notices import FileNotRead

MEETING_SUFFIXES = (".yaml", ".yml")
_SILENT_SUFFIXES = (".md",)


@dataclass
class Listing:
    """The meeting files found, as (path to open, path shown), sorted by the latter; the files
    skipped with a warning; the links that cannot be followed, as located problems."""

    files: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[FileNotRead] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


def meeting_files(directory: Path, root: Path) -> Listing:
    """Every meeting file under `directory`; paths are shown relative to `root` with "/"."""
    walk = _Walk(root, directory)
    walk.run()
    walk.listing.files.sort(key=lambda item: item[1])
    walk.listing.warnings.sort(key=lambda warning: warning.path)
    return walk.listing


def _inside(path: str, tree: str) -> bool:
    return path == tree or path.startswith(os.path.join(tree, ""))


class _Walk:
    """One walk of the meetings directory, without recursion; results collect in `listing`."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.root = str(root)
        self.allowed = (os.path.realpath(root), os.path.realpath(directory))
        self.start = str(directory)
        #: The real directory trees read so far (subdirectories included), each with the path shown for it.
        self.trees: list[tuple[str, str]] = [(self.allowed[1], self.display(self.start))]
        self.listing = Listing()

    def display(self, path: str) -> str:
        prefix = os.path.join(self.root, "")
        relative = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, self.root)
        return relative.replace(os.sep, "/")

    def problem(self, path: str, message: str) -> None:
        self.listing.problems.append(Diagnostic(self.display(path), 1, 1, message))

    def run(self) -> None:
        pending = [self.start]
        while pending:
            directory = pending.pop()
            for entry in self._entries(directory):
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink() and os.path.isdir(entry.path):
                    target = self._target(entry.path)
                    if target is not None and self._may_read(entry.path, target):
                        self.trees.append((target, self.display(entry.path)))
                        pending.append(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    self._file(entry)

    def _entries(self, directory: str) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(directory) as entries:
                yield from sorted(entries, key=lambda entry: entry.name)
        except OSError as error:
            self.problem(directory, f"directory cannot be read: {error.strerror or error}")

    def _file(self, entry: os.DirEntry[str]) -> None:
        lowered = entry.name.lower()
        if not lowered.endswith(MEETING_SUFFIXES):
            if not lowered.endswith(_SILENT_SUFFIXES):
                self.listing.warnings.append(FileNotRead(self.display(entry.path)))
        elif not entry.is_symlink() or self._target(entry.path) is not None:
            self.listing.files.append((entry.path, self.display(entry.path)))

    def _target(self, link: str) -> str | None:
        """The real path `link` resolves to, or None after reporting why it is not followed."""
        target = os.path.realpath(link)
        if not os.path.exists(target):
            self.problem(link, f"broken symbolic link: {os.readlink(link)} does not exist")
            return None
        if not any(_inside(target, tree) for tree in self.allowed):
            self.problem(
                link,
                f"symbolic link to {target}, outside the repository; "
                "move the files into the repository (a CI checkout holds only those)",
            )
            return None
        return target

    def _may_read(self, link: str, target: str) -> bool:
        """Whether the directory `target` can be read through `link`; reported when not."""
        if _inside(os.path.realpath(os.path.dirname(link)), target):
            self.problem(link, f"symbolic link loop: it points to {self.shown(target)}, which contains the link")
            return False
        for tree, through in self.trees:
            if _inside(target, tree) or _inside(tree, target):
                self.problem(
                    link,
                    f"symbolic link to {self.shown(target)}, whose meeting files are read already as "
                    f"{through}; remove the link",
                )
                return False
        return True

    def shown(self, real: str) -> str:
        """A real path as shown: relative to the real repository root."""
        return os.path.relpath(real, self.allowed[0]).replace(os.sep, "/")
