"""`meetings init`: scaffold a meetings repository that plans and applies at once, and on GitHub.

`init_repository` writes the files below into the target directory and returns their paths. It works
immediately against the sandbox (`meetings validate`, `plan`, `apply` in the new directory) and, once
pushed to GitHub, runs the reference workflows: a plan comment on each pull request, apply on merge,
a nightly drift check. Every workflow calls this project's composite action (`action.yml`) at a
pinned reference, so the workflows and the installed version move together.

    reconciler.yaml                   sandbox active, the Graph settings commented in place;
                                      `organizers:` lists the organizers of meeting files already
                                      under meetings/ (a commented example when there are none)
    meetings/team/weekly-sync.yaml    an example meeting with a yaml-language-server modeline
    schemas/meeting.schema.json       copies of the JSON schemas, for editors
    schemas/config.schema.json
    .vscode/settings.json             yaml.schemas: the schemas for meetings/ and reconciler.yaml
    .github/workflows/meetings-plan.yml, meetings-apply.yml, meetings-drift.yml
    .pre-commit-config.yaml           the meetings-validate hook of this project's repository
    .gitignore                        `.meetings/` (the sandbox store); appended to an existing file

The workflow templates are the single source of the reference deployment: this project's own
`.github/workflows/meetings-*.yml` are `render_workflows("./")` (a test keeps them equal).
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Mapping
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

from reconciler import DISTRIBUTION, __version__
from reconciler.errors import ConfigError
from reconciler.loading.files import meeting_files
from reconciler.loading.schema import SCHEMAS_DIR
from reconciler.loading.values import normalize_address
from reconciler.loading.yamldoc import read_yaml

#: Owner placeholder used when the installed package does not name its GitHub repository.
PLACEHOLDER_OWNER = "OWNER"
WORKFLOWS = ("meetings-plan.yml", "meetings-apply.yml", "meetings-drift.yml")
SCHEMAS = ("meeting.schema.json", "config.schema.json")
EXAMPLE_MEETING = Path("meetings/team/weekly-sync.yaml")

# owner/repo[/path]@ref, or a local action path (./ or ./sub/dir) for this project's own workflows.
_REMOTE_ACTION = re.compile(
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)(?:/[A-Za-z0-9._/-]+)?@(?P<ref>[A-Za-z0-9._/-]+)"
)
_LOCAL_ACTION = re.compile(r"\./(?:[A-Za-z0-9._-]+/?)*")
_GITHUB_URL = re.compile(r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+?)(?:\.git)?/?")
_NAMESPACE_INVALID = re.compile(r"[^a-z0-9._-]+")
_EXAMPLE_WEEKDAY = 0  # Monday
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def default_action() -> str:
    """`OWNER/REPO@vVERSION` of the installed version, from the package's GitHub Project-URL.

    Without such a URL the owner is the `OWNER` placeholder, which `meetings init --action` replaces.
    A source tree that was never installed has no released version to pin: it names `main`.
    """
    repository = f"{PLACEHOLDER_OWNER}/{DISTRIBUTION}"
    try:
        metadata = importlib.metadata.metadata(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return f"{repository}@main"
    for entry in metadata.get_all("Project-URL") or []:
        match = _GITHUB_URL.fullmatch(entry.partition(",")[2].strip())
        if match:
            repository = match.group(1)
            break
    return f"{repository}@v{__version__}"


def uses_placeholder(action: str) -> bool:
    """Whether `action` still names the `OWNER` placeholder (the CLI then tells the user to replace it)."""
    return action.startswith(f"{PLACEHOLDER_OWNER}/")


def _template(name: str) -> str:
    return (files("reconciler") / "templates" / name).read_text(encoding="utf-8")


def _fill(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise AssertionError(f"an unfilled placeholder is left in a template: {text[text.index('@@') :][:40]!r}")
    return text


def _not_an_action(action: str) -> ConfigError:
    return ConfigError(
        f'"{action}" is not a reference to the meetings-as-code action; write it as OWNER/REPOSITORY@REF '
        f"(for instance {PLACEHOLDER_OWNER}/{DISTRIBUTION}@v{__version__})."
    )


def render_workflows(action: str) -> dict[str, str]:
    """The reference workflows (file name -> text) calling the composite action `action`.

    `action` is `OWNER/REPOSITORY@REF`, or `./` inside this project's own repository.
    """
    if not (_REMOTE_ACTION.fullmatch(action) or _LOCAL_ACTION.fullmatch(action)):
        raise _not_an_action(action)
    return {name: _fill(_template(f"workflows/{name}"), {"action": action}) for name in WORKFLOWS}


def _namespace(target: Path) -> str:
    """The ownership namespace for a repository in `target`: its directory name, made valid."""
    name = _NAMESPACE_INVALID.sub("-", target.name.lower()).lstrip("._-")[:64].rstrip("._-")
    return name or "meetings"


def _first_weekday_after(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _schema(name: str) -> str:
    path = SCHEMAS_DIR / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"The JSON schema {name} is missing from this installation ({path}: {error.strerror}); "
            "reinstall meetings-as-code."
        ) from error


_ORGANIZERS_WHY = """\
# Every mailbox that organizes meetings of this repository. Graph and EWS cannot list mailboxes: they
# find meetings only in these (and defaults.organizer), so deleting an organizer's last meeting file
# still cancels its meetings. With backend graph or ews, validation refuses an organizer not listed."""


def _organizers(target: Path) -> str:
    """The `organizers:` section: the organizers the meeting files under target/meetings name (read
    leniently: a broken file names none), else a commented example."""
    found: set[str] = set()
    directory = target / "meetings"
    if directory.is_dir():
        for path, display in meeting_files(directory, target).files:
            for document in read_yaml(path, display).documents:
                value = document.value.get("organizer") if isinstance(document.value, dict) else None
                address = normalize_address(value) if isinstance(value, str) else None
                if address:
                    found.add(address)
    if not found:
        return f"{_ORGANIZERS_WHY}\n# organizers:\n#   - lead@contoso.com"
    return "\n".join([_ORGANIZERS_WHY, "organizers:", *(f"  - {address}" for address in sorted(found))])


def _files(target: Path, action: str, today: date) -> dict[Path, str]:
    """Every file to write except .gitignore (relative path -> content)."""
    remote = _REMOTE_ACTION.fullmatch(action)
    if remote is None:
        raise _not_an_action(action)
    start = _first_weekday_after(today, _EXAMPLE_WEEKDAY)
    content: dict[Path, str] = {
        Path("reconciler.yaml"): _fill(
            _template("reconciler.yaml"), {"namespace": _namespace(target), "organizers": _organizers(target)}
        ),
        EXAMPLE_MEETING: _fill(
            _template("meeting.yaml"),
            {"start": f"{start.isoformat()}T10:00", "weekday": _WEEKDAYS[_EXAMPLE_WEEKDAY]},
        ),
        **{Path("schemas") / name: _schema(name) for name in SCHEMAS},
        Path(".vscode/settings.json"): _template("vscode-settings.json"),
        **{Path(".github/workflows") / name: text for name, text in render_workflows(action).items()},
        Path(".pre-commit-config.yaml"): _fill(
            _template("pre-commit-config.yaml"),
            {"hook_repo": f"https://github.com/{remote.group('repo')}", "hook_rev": remote.group("ref")},
        ),
    }
    return content


def _ignores_sandbox(gitignore: Path) -> bool:
    lines = {line.strip() for line in gitignore.read_text(encoding="utf-8").splitlines()}
    return bool(lines & {".meetings", ".meetings/", "/.meetings", "/.meetings/"})


def init_repository(
    target: Path, *, force: bool = False, action: str | None = None, today: date | None = None
) -> list[Path]:
    """Scaffold a meetings repository in `target` (created if missing); return the paths written.

    `action` is the composite action the workflows call, `OWNER/REPOSITORY@REF` (default:
    `default_action()`); its repository and ref also pin the pre-commit hook. `today` dates the
    example meeting (its first occurrence is the Monday after). Existing files are never overwritten
    unless `force`: a ConfigError lists them and nothing is written. `.gitignore` is the exception: an
    existing one gets the `.meetings/` line appended when it lacks it.
    """
    action = default_action() if action is None else action
    if target.exists() and not target.is_dir():
        raise ConfigError(f'Cannot scaffold a meetings repository in "{target}": it is a file, not a directory.')
    content = _files(target, action, today or date.today())
    existing = sorted(str(path) for path in content if (target / path).exists())
    if existing and not force:
        raise ConfigError(
            f"Refusing to overwrite existing files in {target}: {', '.join(existing)}. "
            "Move them away or pass --force to overwrite them."
        )
    written: list[Path] = []
    for relative, text in content.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    gitignore = target / ".gitignore"
    entry = _template("gitignore")
    if not gitignore.exists():
        gitignore.write_text(entry, encoding="utf-8", newline="\n")
        written.append(gitignore)
    elif not _ignores_sandbox(gitignore):
        current = gitignore.read_text(encoding="utf-8")
        separator = "" if current.endswith("\n") or not current else "\n"
        with gitignore.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(separator + entry)
        written.append(gitignore)
    return written
