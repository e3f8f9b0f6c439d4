"""Meeting files -> `model.Meeting` values, or every problem of every file as a located Diagnostic.

Each document goes through three stages: YAML composition (`yamldoc`), the JSON Schema
(`schemas/meeting.schema.json`), then the rules a schema cannot express (defaults, groups, addresses,
time zones, dates, recurrence consistency, policy). A value the schema already rejected is not
checked again, so each mistake is reported once. Rules across files (unique ids, moved_from) run last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler import model
from reconciler.errors import ConfigError, Diagnostic, InputError
from reconciler.loading.files import meeting_files
from reconciler.loading.parallel import map_in_order
from reconciler.loading.reader import MISSING, DocumentReader
from reconciler.loading.schema import SchemaCheck, schema_check
from reconciler.loading.series import Series, read_recurrence
from reconciler.loading.values import (
    MINUTES_PER_DAY,
    describe,
    label,
    local_time_problem,
    normalize_address,
    parse_minutes,
    quote,
    timezone_problem,
)
from reconciler.loading.yamldoc import Document, NodePath, Pos, Source, read_yaml
from reconciler.notices import FileNotRead, InputFinding
from reconciler.port import BACKEND_CAPABILITIES, Capabilities, capabilities_of
from reconciler.text import hidden_characters

if TYPE_CHECKING:
    from reconciler.config import Config


@dataclass(frozen=True)
class Loaded:
    """What the meeting files declare: the meetings, sorted by (organizer, id), and warnings that
    validate and plan show (`notices` records): one per file under the meetings directory that is
    not read, and located findings such as hidden characters in a value."""

    meetings: tuple[model.Meeting, ...]
    warnings: tuple[FileNotRead | InputFinding, ...] = ()


def load_meetings(config: Config, *, workers: int | None = None) -> Loaded:
    """Every meeting declared under `config.meetings_dir` (which files count: `loading.files`).

    Files are read by `workers` processes (default: as many as pay, see `loading.parallel`); the
    result, problems and their order included, does not depend on how many.

    Raises InputError with every problem of every file, ConfigError when the directory is missing.
    A file or a `---` document without content is a problem, not a deleted meeting.
    """
    directory = config.meetings_dir
    if not directory.is_dir():
        raise ConfigError(
            f'The meetings directory "{directory}" does not exist; create it or set meetings_dir in reconciler.yaml.'
        )
    check = schema_check("meeting")
    # Without mailbox enumeration a meeting is found only in a listed mailbox: see `_organizer`.
    can = capabilities_of(config.backend)
    listed = None if can.lists_organizers else frozenset(config.listed_organizers)
    listing = meeting_files(directory, config.root)

    def read(file: tuple[str, str]) -> _FileReading:
        return _read_file(*file, config, check, listed, can)

    readings = map_in_order(read, listing.files, workers=workers)
    diagnostics = [*listing.problems, *(d for reading in readings for d in reading.diagnostics)]
    warnings = [w for reading in readings for w in reading.warnings]
    declared = [d for reading in readings for d in reading.declared]
    diagnostics += _cross_file_problems(declared)
    if diagnostics:
        raise InputError(diagnostics)
    meetings = sorted((d.meeting for d in declared if d.meeting is not None), key=lambda m: (m.organizer, m.id))
    return Loaded(tuple(meetings), (*listing.warnings, *(InputFinding(w) for w in warnings)))


@dataclass(frozen=True)
class _FileReading:
    """What one file gave: its problems, its located warnings, and what each document declares."""

    diagnostics: list[Diagnostic]
    warnings: list[Diagnostic]
    declared: list[_Declared]


def _read_file(
    file: str, display: str, config: Config, check: SchemaCheck, listed: frozenset[str] | None, can: Capabilities
) -> _FileReading:
    """Read, check and build every document of one meeting file (`display`: its path as shown)."""
    source = read_yaml(file, display)
    reading = _FileReading([*source.diagnostics, *_empty_problems(source, display)], [], [])
    for document in source.documents:
        reader = _MeetingReader(document, display, config, check, listed, can, scan_text=source.beyond_ascii)
        reading.declared.append(reader.read())
        reading.diagnostics.extend(reader.diagnostics)
        reading.warnings.extend(reader.warnings)
    return reading


def _empty_problems(source: Source, display: str) -> list[Diagnostic]:
    """A file or document without content would read as "no meeting here" and cancel one."""
    fix = "to cancel the meeting, or write the meeting with `cancelled: <text>`"
    if not source.documents and not source.empty and not source.diagnostics:
        message = f"the file declares no meeting (it is empty or only comments); delete the file {fix}"
        return [Diagnostic(display, 1, 1, message)]
    message = f"this YAML document is empty; delete it and its --- line {fix}"
    return [Diagnostic(display, pos.line, pos.column, message) for pos in source.empty]


@dataclass
class _Declared:
    """What cross-file rules need from one document, and its Meeting when it had no problem."""

    display: str
    meeting: model.Meeting | None = None
    id: str | None = None
    id_pos: Pos = field(default_factory=lambda: Pos(1, 1))
    moved_from: list[tuple[str, Pos]] = field(default_factory=list)


def _cross_file_problems(declared: list[_Declared]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    first: dict[str, _Declared] = {}
    for item in declared:
        if item.id is None:
            continue
        other = first.setdefault(item.id, item)
        if other is not item:
            where = f"{other.display}:{other.id_pos.line}:{other.id_pos.column}"
            message = f"duplicate meeting id {quote(item.id)} (also declared at {where})"
            problems.append(Diagnostic(item.display, item.id_pos.line, item.id_pos.column, message))
    claimed: dict[str, tuple[_Declared, Pos]] = {}
    for item in declared:
        for old_id, pos in item.moved_from:
            current = first.get(old_id)
            if old_id == item.id:
                message = f"moved_from lists the meeting's own id {quote(old_id)}"
            elif current is not None:
                where = f"{current.display}:{current.id_pos.line}:{current.id_pos.column}"
                message = f"moved_from {quote(old_id)} is still declared as a meeting at {where}"
            else:
                owner, owner_pos = claimed.setdefault(old_id, (item, pos))
                if owner is item:
                    continue
                where = f"{owner.display}:{owner_pos.line}:{owner_pos.column}"
                message = f"moved_from {quote(old_id)} is also claimed by {quote(owner.id or '')} at {where}"
            problems.append(Diagnostic(item.display, pos.line, pos.column, message))
    return problems


class _MeetingReader(DocumentReader):
    """Checks one document and builds its Meeting; problems collect in `diagnostics`."""

    def __init__(
        self,
        document: Document,
        display: str,
        config: Config,
        check: SchemaCheck,
        listed: frozenset[str] | None,
        can: Capabilities,
        *,
        scan_text: bool = True,
    ) -> None:
        super().__init__(document, display, config)
        self.check = check
        #: What the configured backend can store.
        self.can = can
        #: The organizers a meeting may name, or None when the backend finds every mailbox itself.
        self.listed = listed
        #: Whether values may hold hidden characters (False: the file is plain printable ASCII).
        self.scan_text = scan_text

    def read(self) -> _Declared:
        declared = _Declared(self.display)
        value = self.document.value
        if not isinstance(value, dict):
            self.error((), f"a meeting must be a mapping of keys such as id, subject and start, not {_kind(value)}")
            return declared
        schema_problems, bad = self.check.diagnostics(self.document, self.display)
        self.diagnostics += schema_problems
        self.bad |= bad
        meeting_id = self.get("id")
        if meeting_id is not MISSING:
            declared.id, declared.id_pos = meeting_id, self.document.value_pos(("id",))
        declared.moved_from = [
            (old, self.document.value_pos(("moved_from", i)))
            for i, old in enumerate(self.list_at("moved_from"))
            if self.get("moved_from", i) is not MISSING
        ]
        meeting = self._meeting(meeting_id)
        if not self.diagnostics:
            declared.meeting = meeting
            if self.scan_text:
                self._warn_hidden_characters((), value)
            if meeting is not None and not meeting.all_day:
                self._warn_doubtful_local_times(meeting)
        return declared

    def _warn_doubtful_local_times(self, meeting: model.Meeting) -> None:
        """Each written start or end (the meeting's and its overrides') that daylight saving skips
        or repeats in the meeting's zone."""
        values: list[tuple[NodePath, datetime | date]] = [(("start",), meeting.start)]
        if self.has("end"):
            values.append((("end",), meeting.end))
        written = [(path, value) for path, value in values if isinstance(value, datetime)]
        for index in range(len(self.list_at("recurrence", "overrides"))):
            for key in ("start", "end"):
                path: NodePath = ("recurrence", "overrides", index, key)
                text = self.get(*path, default=None)
                if isinstance(text, str) and "T" in text:
                    written.append((path, datetime.fromisoformat(text)))
        for path, value in written:
            problem = local_time_problem(value, meeting.timezone)
            if problem:
                text = self.get(*path)
                self.warn(path, f"{label(path)} {text} {problem}; write a time outside the change to be sure")

    def _warn_hidden_characters(self, path: NodePath, value: Any) -> None:
        """Control characters, terminal escapes and bidi overrides in a value are almost always a
        mistake or an attempt to disguise the plan; renderers show them escaped, and so does this."""
        if isinstance(value, dict):
            for key, item in value.items():
                self._warn_hidden_characters((*path, key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._warn_hidden_characters((*path, index), item)
        elif isinstance(value, str) and (hidden := hidden_characters(value)):
            self.warn(
                path,
                f"{label(path)} contains hidden characters ({', '.join(hidden)}): plans show them escaped;"
                " remove them unless they are intended",
            )

    def _meeting(self, meeting_id: Any) -> model.Meeting | None:
        defaults, policy = self.config.defaults, self.config.policy
        organizer = self._organizer()
        all_day = self.get("all_day", default=False)
        timezone = self._timezone()
        start = end = None
        if isinstance(all_day, bool):
            start = self.when(("start",), all_day)
            default = MINUTES_PER_DAY if all_day else self.config.defaults.duration_minutes
            end = self.end_at((), start, all_day, timedelta(minutes=default))
        required = self.people(("attendees", "required"), organizer) or []
        optional = self.people(("attendees", "optional"), organizer) or []
        rooms = self.people(("rooms",), organizer, groups_allowed=False) or []
        rooms_set = set(rooms) - {organizer}
        required_set = set(required) - rooms_set - {organizer}
        optional_set = set(optional) - required_set - rooms_set - {organizer}
        total = len(required_set) + len(optional_set) + len(rooms_set)
        if total > policy.max_attendees:
            where: NodePath = ("attendees",) if self.has("attendees") else ("rooms",)
            message = (
                f"the meeting has {total} attendees, more than policy.max_attendees allows ({policy.max_attendees})"
            )
            self.error(where, message, at_key=True)
        series = None
        if isinstance(all_day, bool) and start is not None and end is not None:
            length = end - start  # both dates or both datetimes
            series = Series(start, length, all_day, organizer, sorted(required_set), sorted(optional_set))
        recurrence = read_recurrence(self, series)
        reminder = self._reminder()
        self._check_backend()
        if self.get("release", default=False) is True and self.get("cancelled", default=False) is not False:
            self.error(
                ("release",),
                "release: true keeps the meeting in the calendars; it cannot also be cancelled:",
                at_key=True,
            )
        if self.diagnostics or organizer is None or start is None or end is None or timezone is None:
            return None
        cancelled = self.get("cancelled", default=False)
        return model.Meeting(
            id=meeting_id,
            organizer=organizer,
            subject=self.get("subject"),
            start=start,
            end=end,
            timezone=timezone,
            all_day=all_day,
            recurrence=recurrence,
            required=tuple(sorted(required_set)),
            optional=tuple(sorted(optional_set)),
            rooms=tuple(sorted(rooms_set)),
            location=self.get("location", default=""),
            online_meeting=self.get("online_meeting", default=defaults.online_meeting),
            body=self.get("body", default=""),
            body_format=model.BodyFormat(self.get("body_format", default=defaults.body_format)),
            reminder_minutes=reminder if reminder is not MISSING else defaults.reminder_minutes,
            show_as=model.ShowAs(self.get("show_as", default="busy")),
            sensitivity=model.Sensitivity(self.get("sensitivity", default="normal")),
            importance=model.Importance(self.get("importance", default="normal")),
            categories=tuple(dict.fromkeys(self.get("categories", default=[]))),
            response_requested=self.get("response_requested", default=True),
            allow_new_time_proposals=self.get("allow_new_time_proposals", default=True),
            hide_attendees=self.get("hide_attendees", default=False),
            protect=self.get("protect", default=False),
            cancelled=("" if cancelled is True else cancelled) if cancelled is not False else None,
            moved_from=tuple(dict.fromkeys(self.get("moved_from", default=[]))),
            release=self.get("release", default=False),
            source=model.SourceLocation(self.display, self.document.start.line, self.document.start.column),
        )

    def _check_backend(self) -> None:
        """What the YAML can say but the configured backend cannot store (see its `Capabilities`)
        is an error naming the backend and, where another can store it, that backend."""
        can = self.can
        if not can.online_meetings and self.get("online_meeting", default=self.config.defaults.online_meeting) is True:
            where: NodePath = ("online_meeting",) if self.has("online_meeting") else ()
            remedy = _or("remove online_meeting", _switch(lambda other: other.online_meetings))
            self.error(where, f"{can.title} cannot create Teams meetings ({self._named}); {remedy}")
        if not can.hide_attendees and self.get("hide_attendees", default=False) is True:
            remedy = _or("remove hide_attendees", _switch(lambda other: other.hide_attendees))
            self.error(
                ("hide_attendees",), f"{can.title} cannot hide attendees from each other ({self._named}); {remedy}"
            )
        if not can.occurrence_attendees:
            self._check_occurrence_attendees(can)
        if can.relative_day_groups is not None:
            self._check_relative_days(can, can.relative_day_groups)
        self._check_pattern_limits(can)

    @property
    def _named(self) -> str:
        """How backend errors name the configured backend: "backend: ews"."""
        return f"backend: {self.config.backend}"

    def _check_pattern_limits(self, can: Capabilities) -> None:
        """The pattern's interval and count within what the backend's patterns hold."""
        every, interval, count = (self.get("recurrence", key) for key in ("every", "interval", "count"))
        unit = model.Every(every) if isinstance(every, str) else None  # the schema allows only units
        limit = can.max_interval.get(unit) if unit is not None else None
        if unit is not None and limit is not None and isinstance(interval, int) and interval > limit:
            if limit == 1:
                switch = _switch(lambda other: other.max_interval.get(unit, interval) >= interval)
                remedies = ", or ".join(remedy for remedy in (switch, f"one meeting per {unit}") if remedy)
                self.error(
                    ("recurrence", "interval"),
                    f"{can.title} cannot repeat a meeting every {interval} {unit}s, only every {unit} "
                    f"({self._named}); {remedies}",
                )
            else:
                self.error(
                    ("recurrence", "interval"),
                    f"{can.title} allows an interval of at most {limit} with every: {unit} ({self._named})",
                )
        if can.max_count is not None and isinstance(count, int) and count > can.max_count:
            self.error(
                ("recurrence", "count"),
                f"{can.title} allows at most {can.max_count} occurrences in a counted series ({self._named})",
            )

    def _check_occurrence_attendees(self, can: Capabilities) -> None:
        """No override may change attendees: the backend cannot (`occurrence_attendees`)."""
        remedy = _or("remove attendees from this override", _switch(lambda other: other.occurrence_attendees))
        for index, override in enumerate(self.list_at("recurrence", "overrides")):
            if isinstance(override, dict) and "attendees" in override:
                self.error(
                    ("recurrence", "overrides", index, "attendees"),
                    f"{can.title} cannot change the attendees of a single occurrence ({self._named}); {remedy}",
                    at_key=True,
                )

    def _check_relative_days(self, can: Capabilities, groups: tuple[frozenset[model.Weekday], ...]) -> None:
        """A relative pattern names one day or one of the backend's day `groups`."""
        days, week = self.get("recurrence", "on"), self.get("recurrence", "week_of_month")
        if week is MISSING or not isinstance(days, list):
            return
        # A day the schema rejected was reported already; it is left out here.
        chosen = frozenset(day for day in model.Weekday if day.value in days)
        if len(chosen) > 1 and chosen not in groups:
            named = ", ".join(day.value for day in model.Weekday if day in chosen)
            allowed = _either([_describe_days(group) for group in groups])
            remedy = _or("name one day", _switch(lambda other: other.relative_day_groups is None))
            self.error(
                ("recurrence", "on"),
                f"{can.title} cannot repeat on the {week} of several week days ({named}) unless they are {allowed} "
                f"({self._named}); {remedy}",
            )

    def _organizer(self) -> str | None:
        text = self.get("organizer")
        if text is MISSING:
            if not self.has("organizer") and self.config.defaults.organizer is None:
                self.error((), 'missing "organizer"; set it here or defaults.organizer in reconciler.yaml')
            return None if self.has("organizer") else self.config.defaults.organizer
        address = normalize_address(text)
        if address is None:
            self.error(("organizer",), f"{quote(text)} is not a valid e-mail address")
        elif self.listed is not None and address not in self.listed:
            # Graph and EWS cannot enumerate mailboxes: once the last file of an unlisted organizer
            # is deleted, nothing names its mailbox and its meetings would never be cancelled.
            self.error(
                ("organizer",),
                f"{address} is not listed in organizers: (backend {self.config.backend} finds meetings only in "
                f"listed mailboxes, so deleting this organizer's last file would cancel nothing); "
                f"add {address} to organizers: in reconciler.yaml",
            )
        return address

    def _timezone(self) -> str | None:
        name = self.get("timezone", default=self.config.defaults.timezone)
        problem = timezone_problem(name) if name is not MISSING else None
        if problem:
            self.error(("timezone",), problem)
        return None if name is MISSING or problem else str(name)

    def _reminder(self) -> Any:
        if not self.has("reminder"):
            return MISSING
        text = self.get("reminder")
        if text is None or text == "none":
            return None
        return MISSING if text is MISSING else parse_minutes(text)


def _switch(can: Callable[[Capabilities], bool]) -> str:
    """The remedy of another backend, "use backend: graph", naming every Exchange backend that
    `can` (the sandbox is no stand-in for a real calendar); "" when none can."""
    able = [name for name, other in BACKEND_CAPABILITIES.items() if other.exchange and can(other)]
    return f"use backend: {' or '.join(able)}" if able else ""


def _or(*remedies: str) -> str:
    """The remedies that exist, joined: "remove online_meeting or use backend: graph"."""
    return " or ".join(remedy for remedy in remedies if remedy)


def _describe_days(days: frozenset[model.Weekday]) -> str:
    """A day group as messages say it: "all seven", "monday to friday", "saturday and sunday"."""
    ordered = [day for day in model.Weekday if day in days]
    if len(ordered) == len(model.Weekday):
        return "all seven"
    week = list(model.Weekday)
    first = week.index(ordered[0])
    if len(ordered) > 2 and ordered == week[first : first + len(ordered)]:
        return f"{ordered[0].value} to {ordered[-1].value}"
    return " and ".join(day.value for day in ordered)


def _either(listed: list[str]) -> str:
    """The choices as a sentence says them: "a, b, or c", "a or b", "a"."""
    if len(listed) < 3:
        return " or ".join(listed)
    return ", ".join(listed[:-1]) + ", or " + listed[-1]


def _kind(value: Any) -> str:
    return describe(value) if not isinstance(value, str | int | float | bool) else f"the value {describe(value)}"
