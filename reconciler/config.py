"""reconciler.yaml and the environment -> one frozen Config.

Settings come from the file (validated against `schemas/config.schema.json`, every problem reported
as file:line:col); secrets come only from the environment snapshot passed in, never from the file.
A secret written into the file is refused outright, so it cannot end up in git history unnoticed
a second time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError, Diagnostic, InputError
from reconciler.limits import SendLimits
from reconciler.loading.schema import schema_check
from reconciler.loading.values import did_you_mean, label, normalize_address, parse_minutes, quote, timezone_problem
from reconciler.loading.yamldoc import Document, NodePath, parse_yaml

CONFIG_FILE = "reconciler.yaml"

#: Environment variables holding secrets.
GRAPH_CLIENT_SECRET = "MEETINGS_GRAPH_CLIENT_SECRET"
GRAPH_CERTIFICATE_PASSWORD = "MEETINGS_GRAPH_CERTIFICATE_PASSWORD"
EWS_PASSWORD = "MEETINGS_EWS_PASSWORD"
EWS_CLIENT_SECRET = "MEETINGS_EWS_CLIENT_SECRET"

#: The setting each secret variable stands for; any other secret-looking key has no variable.
_SECRET_VARIABLES: dict[NodePath, str] = {
    ("graph", "client_secret"): GRAPH_CLIENT_SECRET,
    ("graph", "certificate_password"): GRAPH_CERTIFICATE_PASSWORD,
    ("ews", "password"): EWS_PASSWORD,
    ("ews", "client_secret"): EWS_CLIENT_SECRET,
}
_SECRET_KEY = re.compile(r"secret|password|passwd|token|private_?key|api_?key")
_GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_MAX_GROUP_NESTING = 50


@dataclass(frozen=True)
class Policy:
    """Guard rails of plan and apply."""

    prune: bool = True  # a deleted meeting file cancels its meeting
    max_cancellations: int = 10  # more refuses to apply without --allow-mass-cancel
    allowed_domains: tuple[str, ...] = ()  # empty: any; else every attendee's domain must be listed
    max_attendees: int = 500
    drift: str = "revert"  # "revert" (plan reverts drifted items to git) | "warn" (report, keep)
    #: Minutes before a meeting's start within which changes that mail attendees need
    #: --allow-late; None (the default) turns the check off.
    min_notice_minutes: int | None = None
    #: Cancelling a meeting at least this many people accepted needs --allow-mass-cancel (None: off).
    protect_accepted: int | None = None
    room_conflicts: str = "warn"  # "warn" | "error": a busy or double-booked room fails the plan


@dataclass(frozen=True)
class Defaults:
    """Values for meeting files that do not set them."""

    organizer: str | None = None
    timezone: str = "UTC"
    duration_minutes: int = 30
    reminder_minutes: int | None = 15
    online_meeting: bool = False
    body_format: str = "markdown"


@dataclass(frozen=True)
class GraphSettings:
    tenant_id: str | None = None
    client_id: str | None = None
    auth: str = "client_secret"  # client_secret | certificate | workload_identity | device_code | azure_cli
    certificate_path: str | None = None
    base_url: str | None = None  # for an emulator or a national cloud


@dataclass(frozen=True)
class EwsSettings:
    endpoint: str | None = None
    auth: str = "oauth2"  # oauth2 | ntlm | basic
    version: str = "Exchange2016"
    username: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class SandboxSettings:
    path: str = ".meetings/sandbox.db"  # relative to the config's root directory


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything the reconciler is configured with. `env` is a snapshot; secrets are read from it."""

    root: Path  # directory of reconciler.yaml (the working directory when there is none)
    source: Path | None = None  # the reconciler.yaml read, None when absent
    namespace: str = "default"
    backend: str = "sandbox"  # sandbox | graph | ews
    meetings_dir: Path  # absolute
    defaults: Defaults = field(default_factory=Defaults)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name (no @) -> addresses
    #: Mailboxes always scanned for our meetings, so deleting every file of one organizer still
    #: cancels its meetings on backends that cannot list mailboxes (Graph, EWS).
    organizers: tuple[str, ...] = ()
    #: IANA zones attendees sit in; the plan warns about series whose start moves in one of them
    #: across daylight-saving changes (see `reconciler.dst`).
    attendee_timezones: tuple[str, ...] = ()
    policy: Policy = field(default_factory=Policy)
    #: The organizers' sending limits (`limits:`; defaults: Exchange Online's).
    limits: SendLimits = field(default_factory=SendLimits)
    #: Namespaces this repository used before: their items are adopted, never duplicated.
    previous_namespaces: tuple[str, ...] = ()
    graph: GraphSettings = field(default_factory=GraphSettings)
    ews: EwsSettings = field(default_factory=EwsSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # never printed: it holds secrets

    @property
    def listed_organizers(self) -> tuple[str, ...]:
        """The mailboxes scanned whatever the files say: `defaults.organizer` and `organizers`."""
        listed = (self.defaults.organizer, *self.organizers)
        return tuple(dict.fromkeys(address for address in listed if address))

    def secret(self, name: str) -> str | None:
        """The environment variable `name` (e.g. MEETINGS_GRAPH_CLIENT_SECRET); None when unset or empty."""
        return self.env.get(name) or None


def find_config(cwd: Path) -> Path | None:
    """The nearest `reconciler.yaml` in `cwd` or a parent, as git finds its repository: the search
    stops at the top of the git work tree holding `cwd` (a directory with `.git`), or at `/`."""
    for directory in (cwd, *cwd.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def load_config(path: Path | None, *, env: Mapping[str, str], cwd: Path) -> Config:
    """The configuration from `path`, or from the nearest `reconciler.yaml` (`find_config`) when
    `path` is None, so a command run in a subdirectory of the repository finds it.

    Without a file (and no `path` given) every default applies with `root = cwd` and `source` None.
    Raises ConfigError when a given `path` does not exist or cannot be read, InputError listing every
    problem of its content.
    """
    snapshot = dict(env)
    if path is None:
        found = find_config(cwd)
        if found is None:
            return with_environment(Config(root=cwd, meetings_dir=cwd / "meetings", env=snapshot))
        path = found
    file = Path(os.path.normpath(cwd / path))
    if not file.exists():
        raise ConfigError(f'The configuration file "{path}" does not exist.')
    if not file.is_file():
        raise ConfigError(f'The configuration file "{path}" is not a file.')
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ConfigError(f'The configuration file "{path}" cannot be read: {error.strerror or error}.') from error
    root = file.parent
    source = parse_yaml(data, file.name)
    diagnostics = list(source.diagnostics)
    if len(source.documents) > 1:
        extra = source.documents[1].start
        diagnostics.append(
            Diagnostic(file.name, extra.line, extra.column, f"{CONFIG_FILE} must hold one YAML document")
        )
    document = source.documents[0] if source.documents else None
    reader = _ConfigReader(document, file.name)
    config = reader.read(root=root, source=file, env=snapshot)
    diagnostics += reader.diagnostics
    if diagnostics or config is None:
        raise InputError(diagnostics)
    return with_environment(config)


BACKENDS = ("sandbox", "graph", "ews")


def with_environment(config: Config) -> Config:
    """`config` with the environment's overrides applied: MEETINGS_BACKEND, AZURE_TENANT_ID and
    AZURE_CLIENT_ID (none of them a secret). CI sets them per job: a read-only app registration for
    pull-request plans, the read-write one inside the protected environment."""
    backend = config.env.get("MEETINGS_BACKEND") or config.backend
    if backend not in BACKENDS:
        raise ConfigError(f"MEETINGS_BACKEND is {backend!r}; choose one of {', '.join(BACKENDS)}.")
    graph = replace(
        config.graph,
        tenant_id=config.env.get("AZURE_TENANT_ID") or config.graph.tenant_id,
        client_id=config.env.get("AZURE_CLIENT_ID") or config.graph.client_id,
    )
    return replace(config, backend=backend, graph=graph)


class _ConfigReader:
    def __init__(self, document: Document | None, display: str) -> None:
        self.document, self.display = document, display
        self.raw: dict[str, Any] = document.value if document and isinstance(document.value, dict) else {}
        self.diagnostics: list[Diagnostic] = []
        self.bad: set[NodePath] = set()

    def error(self, path: NodePath, message: str, *, at_key: bool = False) -> None:
        assert self.document is not None
        pos = self.document.key_pos(path) if at_key else self.document.value_pos(path)
        self.diagnostics.append(Diagnostic(self.display, pos.line, pos.column, message))

    def get(self, section: str, key: str | None = None, default: Any = None) -> Any:
        path: NodePath = (section,) if key is None else (section, key)
        if any(path[:i] in self.bad for i in range(1, len(path) + 1)):
            return default
        node = self.raw.get(section, {} if key is not None else default)
        if key is None:
            return node
        return node.get(key, default) if isinstance(node, dict) else default

    def read(self, *, root: Path, source: Path, env: dict[str, str]) -> Config | None:
        document = self.document
        if document is None:
            return Config(root=root, source=source, meetings_dir=root / "meetings", env=env)
        if not isinstance(document.value, dict):
            self.error((), f"{CONFIG_FILE} must be a mapping of settings such as backend and defaults")
            return None
        secrets = self._secrets(document.value, ())
        problems, self.bad = schema_check("config").diagnostics(document, self.display, silent=secrets)
        self.diagnostics += problems
        self.bad |= secrets
        defaults = self._defaults()
        groups = self._groups()
        policy = self._policy()
        limits = self._limits()
        organizers = self._organizers()
        attendee_timezones = self._attendee_timezones()
        previous_namespaces = self._previous_namespaces()
        if self.diagnostics:
            return None
        return Config(
            root=root,
            source=source,
            namespace=self.get("namespace", default="default"),
            backend=self.get("backend", default="sandbox"),
            meetings_dir=root / self.get("meetings_dir", default="meetings"),
            defaults=defaults,
            groups=groups,
            organizers=organizers,
            attendee_timezones=attendee_timezones,
            policy=policy,
            limits=limits,
            previous_namespaces=previous_namespaces,
            graph=GraphSettings(**self.get("graph", default={})),
            ews=EwsSettings(**self.get("ews", default={})),
            sandbox=SandboxSettings(**self.get("sandbox", default={})),
            env=env,
        )

    def _secrets(self, node: Any, path: NodePath) -> set[NodePath]:
        """Paths of keys that look like secrets, each reported; group names are data, not settings."""
        found: set[NodePath] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                key_path = (*path, key)
                if path != ("groups",) and _SECRET_KEY.search(key.lower().replace("-", "_")):
                    variable = _SECRET_VARIABLES.get(key_path)
                    instead = (
                        f"set the environment variable {variable} instead"
                        if variable
                        else "meetings reads secrets only from the environment variables "
                        + ", ".join(sorted(set(_SECRET_VARIABLES.values())))
                    )
                    message = f"{label(key_path)}: secrets must not be written in {CONFIG_FILE}; {instead}"
                    self.error(key_path, message, at_key=True)
                    found.add(key_path)
                else:
                    found |= self._secrets(value, key_path)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                found |= self._secrets(item, (*path, index))
        return found

    def _organizers(self) -> tuple[str, ...]:
        found: list[str] = []
        for index, item in enumerate(self.get("organizers", default=[]) or []):
            address = normalize_address(item)
            if address is None:
                self.error(("organizers", index), f"{quote(item)} is not a valid e-mail address")
            else:
                found.append(address)
        return tuple(dict.fromkeys(found))

    def _attendee_timezones(self) -> tuple[str, ...]:
        """The listed zones that are usable (each other one reported), duplicates dropped, order kept."""
        found: list[str] = []
        for index, name in enumerate(self.get("attendee_timezones", default=[])):
            path = ("attendee_timezones", index)
            if not isinstance(name, str) or path in self.bad:
                continue
            problem = timezone_problem(name)
            if problem:
                self.error(path, problem)
            else:
                found.append(name)
        return tuple(dict.fromkeys(found))

    def _defaults(self) -> Defaults:
        organizer = self.get("defaults", "organizer")
        if organizer is not None:
            address = normalize_address(organizer)
            if address is None:
                self.error(("defaults", "organizer"), f"{quote(organizer)} is not a valid e-mail address")
            organizer = address
        timezone = self.get("defaults", "timezone", "UTC")
        problem = timezone_problem(timezone)
        if problem:
            self.error(("defaults", "timezone"), problem)
        return Defaults(
            organizer=organizer,
            timezone=timezone,
            duration_minutes=int(self.get("defaults", "duration_minutes", 30)),
            reminder_minutes=_int_or_none(self.get("defaults", "reminder_minutes", 15)),
            online_meeting=self.get("defaults", "online_meeting", False),
            body_format=self.get("defaults", "body_format", "markdown"),
        )

    def _policy(self) -> Policy:
        domains: list[str] = []
        for index, text in enumerate(self.get("policy", "allowed_domains", [])):
            if not isinstance(text, str) or ("policy", "allowed_domains", index) in self.bad:
                continue
            domain = text.strip().lower()
            if not _DOMAIN.fullmatch(domain):
                self.error(("policy", "allowed_domains", index), f"{quote(text)} is not a domain name like contoso.com")
            domains.append(domain)
        return Policy(
            prune=self.get("policy", "prune", True),
            max_cancellations=int(self.get("policy", "max_cancellations", 10)),
            allowed_domains=tuple(dict.fromkeys(domains)),
            max_attendees=int(self.get("policy", "max_attendees", 500)),
            drift=self.get("policy", "drift", "revert"),
            min_notice_minutes=self._min_notice(),
            protect_accepted=_int_or_none(self.get("policy", "protect_accepted", None)),
            room_conflicts=self.get("policy", "room_conflicts", "warn"),
        )

    def _limits(self) -> SendLimits:
        """The `limits:` section over the defaults; its values were checked by the schema."""
        default = SendLimits()
        return SendLimits(
            messages_per_minute=int(self.get("limits", "messages_per_minute", default.messages_per_minute)),
            recipients_per_day=int(self.get("limits", "recipients_per_day", default.recipients_per_day)),
            recipients_per_message=int(self.get("limits", "recipients_per_message", default.recipients_per_message)),
            warn_at_percent=int(self.get("limits", "warn_at_percent", default.warn_at_percent)),
        )

    def _min_notice(self) -> int | None:
        text = self.get("policy", "min_notice", None)
        if not isinstance(text, str) or ("policy", "min_notice") in self.bad:
            return None
        minutes = parse_minutes(text)
        return minutes or None  # 0m: off

    def _previous_namespaces(self) -> tuple[str, ...]:
        names = self.get("previous_namespaces", default=[])
        current = self.get("namespace", default="default")
        for index, name in enumerate(names):
            if name == current and ("previous_namespaces", index) not in self.bad:
                self.error(("previous_namespaces", index), f"{quote(name)} is the current namespace")
        return tuple(dict.fromkeys(n for n in names if isinstance(n, str) and n != current))

    def _groups(self) -> dict[str, tuple[str, ...]]:
        raw = self.get("groups", default={})
        if not isinstance(raw, dict):
            return {}
        for name in raw:
            if not _GROUP_NAME.fullmatch(name):
                message = f'group name {quote(name)} may contain only letters, digits, ".", "_" and "-"'
                self.error(("groups", name), message, at_key=True)
        resolved: dict[str, tuple[str, ...]] = {}
        for name in raw:
            self._expand(name, raw, resolved, [])
        return {name: resolved[name] for name in raw if name in resolved}

    def _expand(
        self, name: str, raw: dict[str, Any], resolved: dict[str, tuple[str, ...]], chain: list[str]
    ) -> tuple[str, ...]:
        """The addresses of group `name`, nested groups included; a cycle is reported where it closes."""
        if name in resolved:
            return resolved[name]
        members: set[str] = set()
        items = raw.get(name)
        if not isinstance(items, list) or ("groups", name) in self.bad:
            resolved[name] = ()
            return ()
        chain = [*chain, name]
        for index, item in enumerate(items):
            path = ("groups", name, index)
            if not isinstance(item, str) or path in self.bad:
                continue
            if item.startswith("@"):
                other = item[1:]
                if other not in raw:
                    names = [f"@{n}" for n in raw]
                    self.error(path, f"unknown group {quote(item)}{did_you_mean(item, names)}")
                elif other in chain:
                    cycle = " -> ".join(f"@{n}" for n in [*chain[chain.index(other) :], other])
                    self.error(path, f"groups include each other in a cycle: {cycle}")
                elif len(chain) >= _MAX_GROUP_NESTING:
                    self.error(path, f"groups are nested more than {_MAX_GROUP_NESTING} levels deep")
                else:
                    members |= set(self._expand(other, raw, resolved, chain))
                continue
            address = normalize_address(item)
            if address is None:
                self.error(path, f"{quote(item)} is not a valid e-mail address")
            else:
                members.add(address)
        resolved[name] = tuple(sorted(members))
        return resolved[name]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
