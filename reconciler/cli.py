"""The `meetings` command line: the only module that prints or exits.

Exit codes (docs/architecture.md section 10) are the named constants below. User mistakes are printed as
sentences (diagnostics as `file:line:col: message`, and as `::error` annotations inside GitHub
Actions); only internal errors mention a traceback, and only `--debug` shows it. Heavy modules
(the planner, providers, SDKs) are imported inside the commands so `meetings --help` stays quick.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from reconciler.config import Config
    from reconciler.errors import Diagnostic
    from reconciler.loading import Loaded
    from reconciler.lockstate import Holder
    from reconciler.plan import Plan, PlanPolicy
    from reconciler.port import Provider
    from reconciler.report import Outcome
    from reconciler.shards import Selection

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
#: `apply --max-wait`'s default: `pace.DEFAULT_MAX_WAIT`, stated here so `meetings --help` does not
#: import the core (a test checks that the two agree).
DEFAULT_MAX_WAIT = 900.0


class Format(StrEnum):
    HUMAN = "human"
    JSON = "json"
    MARKDOWN = "markdown"


class MailFormat(StrEnum):
    """The formats of `sandbox mail` and `inspect`."""

    HUMAN = "human"
    JSON = "json"


class Answer(StrEnum):
    """What `sandbox respond` answers for an attendee."""

    ACCEPT = "accept"
    TENTATIVE = "tentative"
    DECLINE = "decline"


class _Commands(TyperGroup):
    """Usage errors exit 1, as Terraform's do: exit 2 means "changes present" under
    `--detailed-exitcode`, so a typo in a script must not read as a plan with changes."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's Context (vendored or not)
        with _usage_errors():
            return super().parse_args(ctx, _global_options_first(args))

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors():
            return super().invoke(ctx)


#: Global options and whether each takes a value; accepted after the command too (`meetings plan --debug`).
_GLOBAL_OPTIONS = {"--config": True, "--debug": False, "--no-color": False, "--wire-log": True}


def _global_options_first(args: list[str]) -> list[str]:
    """`args` with the global options moved in front of the command, as click expects them.

    Everything after `--` is left alone; `--config=PATH` and `--config PATH` are both understood.
    """
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_OPTIONS:
            takes_value = _GLOBAL_OPTIONS[name] and "=" not in arg
            front += args[index : index + 1 + takes_value]
            index += 1 + takes_value
            continue
        rest.append(arg)
        index += 1
    return front + rest


#: click's UsageError (typer vendors click in recent versions, so it is reached through a public class).
_UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


@contextmanager
def _usage_errors() -> Iterator[None]:
    try:
        yield
    except _UsageError as error:
        error.exit_code = EXIT_FAILURE  # type: ignore[attr-defined]
        raise


_CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    cls=_Commands,
    context_settings=_CONTEXT,
    # Plain help: rich's tables show a `<bool>` metavar on every flag, which reads as if flags took a value.
    rich_markup_mode=None,
    help="GitOps for Exchange meetings: validate meeting files, plan and apply them to calendars.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(
    context_settings=_CONTEXT,
    rich_markup_mode=None,
    help="The embedded sandbox: what people received, and emulators for real clients.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")


class _Options:
    config: Path | None = None
    debug: bool = False
    color: bool = True
    wire_log: Path | None = None


OPTIONS = _Options()

#: Options that `plan` and `apply` share.
AllowMassCancel = Annotated[
    bool, typer.Option("--allow-mass-cancel", help="Allow more cancellations than policy.max_cancellations.")
]
AllowLate = Annotated[
    bool, typer.Option("--allow-late", help="Allow changes of meetings starting within policy.min_notice.")
]
AllowAdoptMail = Annotated[
    bool,
    typer.Option(
        "--allow-adopt-mail",
        help="Allow adoptions of unmanaged meetings whose marker write may mail every attendee (Graph).",
    ),
]


def _check_shard(value: str | None) -> str | None:
    from reconciler.shards import parse_shard

    if value is not None:
        try:
            parse_shard(value)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    return value


def _check_organizers(values: list[str] | None) -> list[str] | None:
    from reconciler.loading.values import normalize_address

    for value in values or []:
        if normalize_address(value) is None:
            raise typer.BadParameter(f"{value!r} is not an e-mail address.")
    return values


def _check_organizer(value: str | None) -> str | None:
    _check_organizers([value] if value is not None else None)
    return value


#: Options that restrict `plan` and `apply` to some mailboxes (`reconciler.shards`).
OnlyOrganizers = Annotated[
    list[str] | None,
    typer.Option(
        "--organizer",
        metavar="ADDRESS",
        callback=_check_organizers,
        help="Plan (and apply) only this organizer's mailbox; repeat for several.",
    ),
]
OnlyShard = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        callback=_check_shard,
        help="Plan (and apply) only the mailboxes of shard I of N (a stable hash of each address).",
    ),
]


def _selection(organizers: list[str] | None, shard: str | None) -> Selection:
    """The mailboxes `--organizer` and `--shard` select (both given: those named in the shard)."""
    from reconciler.loading.values import normalize_address
    from reconciler.shards import Selection, parse_shard

    named = frozenset(filter(None, (normalize_address(o) for o in organizers or [])))
    return Selection(named, parse_shard(shard) if shard is not None else None)


def _show_version(value: bool) -> None:
    if value:
        from reconciler import DISTRIBUTION, __version__

        _say(f"{DISTRIBUTION} {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Path of reconciler.yaml (default: the nearest one in this directory or a parent).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output without colours.")] = False,
    wire_log: Annotated[
        Path | None,
        typer.Option(
            "--wire-log",
            metavar="FILE",
            help="Append every HTTP request and response to Graph or EWS to FILE as JSON lines, credentials"
            " redacted (default: $MEETINGS_WIRE_LOG).",
        ),
    ] = None,
) -> None:
    OPTIONS.config, OPTIONS.debug, OPTIONS.wire_log = config, debug, wire_log
    OPTIONS.color = not no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _say(text: str = "", *, err: bool = False) -> None:
    typer.echo(text, err=err)


def _exit(code: int) -> NoReturn:
    raise typer.Exit(code)


def _now() -> datetime:
    """The clock; MEETINGS_NOW (ISO 8601) pins it for tests and reproducible demos."""
    from reconciler.errors import ConfigError

    pinned = os.environ.get("MEETINGS_NOW")
    if pinned:
        try:
            moment = datetime.fromisoformat(pinned)
        except ValueError:
            raise ConfigError(
                f"MEETINGS_NOW must be an ISO 8601 time such as 2026-11-24T12:00:00+00:00, not {pinned!r};"
                " unset it to use the real clock."
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...]) -> None:
    from reconciler.text import visible

    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    for diagnostic in diagnostics:
        _say(visible(str(diagnostic)), err=True)
        if in_actions:
            message = visible(diagnostic.message).replace("%", "%25").replace("\n", "%0A")
            _say(f"::error file={diagnostic.path},line={diagnostic.line},col={diagnostic.column}::{message}")
    from reconciler.render.commands import problems_found

    _say(problems_found(len(diagnostics)), err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn our errors into messages and exit codes; anything else is an internal error."""
    from reconciler.errors import InputError, MeetingsError

    try:
        yield
    except typer.Exit:
        raise
    except InputError as error:
        _print_diagnostics(error.diagnostics)
        _exit(EXIT_FAILURE)
    except MeetingsError as error:
        from reconciler.text import visible

        _say(f"Error: {visible(str(error))}", err=True)
        _exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        _say("Interrupted.", err=True)
        _exit(EXIT_INTERRUPTED)
    except Exception as error:  # an internal error: our bug, not the user's
        if OPTIONS.debug:
            import traceback

            _say(traceback.format_exc().rstrip(), err=True)
        hint = "" if OPTIONS.debug else " Run again with --debug for the traceback,"
        _say(f"Internal error: {type(error).__name__}: {error}.{hint} Please report it.", err=True)
        _exit(EXIT_INTERNAL)


def _config() -> Config:
    """The configuration (`--config`, else the nearest reconciler.yaml); without one, the defaults,
    and a line on stderr saying so, so nobody plans against the sandbox by mistake."""
    from reconciler.config import CONFIG_FILE, load_config
    from reconciler.render.commands import using_defaults

    config = load_config(OPTIONS.config, env=os.environ, cwd=Path.cwd())
    if config.source is None:
        _say(using_defaults(Path.cwd(), CONFIG_FILE, config.backend, config.meetings_dir), err=True)
    return config


def _open_provider(config: Config) -> Provider:
    """The configured provider, writing the wire log (`--wire-log`, else MEETINGS_WIRE_LOG) if asked."""
    from reconciler.providers.factory import open_provider
    from reconciler.providers.wirelog import WIRE_LOG_VARIABLE, WireLog

    named = OPTIONS.wire_log or (Path(os.environ[WIRE_LOG_VARIABLE]) if os.environ.get(WIRE_LOG_VARIABLE) else None)
    if named is None:
        return open_provider(config)
    from reconciler.errors import ConfigError

    try:
        with named.open("a", encoding="utf-8"):
            pass  # it can be written: checked before any request, not at the first one
    except OSError as error:
        raise ConfigError(f"Cannot write the wire log {named}: {error.strerror or error}.") from None
    return open_provider(config, wire_log=WireLog(named))


def _load() -> tuple[Config, Loaded]:
    """Configuration and every meeting, or an InputError listing every problem."""
    from reconciler.loading import load_meetings

    config = _config()
    return config, load_meetings(config)


def _plan(
    config: Config,
    loaded: Loaded,
    provider: Provider,
    *,
    allow_mass_cancel: bool,
    allow_late: bool,
    organizers: list[str] | None = None,
    allow_adopt_mail: bool = False,
    selection: Selection | None = None,
) -> Plan:
    """The plan of `organizers` (default: every mailbox to scan), with the loader's warnings (files
    not read, hidden characters) first among its warnings."""
    from dataclasses import replace

    from reconciler.reconcile import make_plan
    from reconciler.shards import Selection

    result = make_plan(
        list(loaded.meetings),
        provider,
        namespace=config.namespace,
        policy=_plan_policy(config),
        now=_now(),
        extra_organizers=config.listed_organizers,
        allow_mass_cancel=allow_mass_cancel,
        allow_late=allow_late,
        previous_namespaces=config.previous_namespaces,
        allow_adopt_mail=allow_adopt_mail,
        organizers=organizers,
        selection=selection or Selection(),
    )
    return replace(result, warnings=loaded.warnings + result.warnings) if loaded.warnings else result


def _plan_policy(config: Config) -> PlanPolicy:
    """The planner's policy from the configuration."""
    from datetime import timedelta

    from reconciler.plan import PlanPolicy

    notice = config.policy.min_notice_minutes
    return PlanPolicy(
        prune=config.policy.prune,
        max_cancellations=config.policy.max_cancellations,
        drift=config.policy.drift,
        attendee_timezones=config.attendee_timezones,
        min_notice=timedelta(minutes=notice) if notice else None,
        send_limits=config.limits,
        protect_accepted=config.policy.protect_accepted,
        room_conflicts=config.policy.room_conflicts,
    )


def _render(plan: Plan, output: Format) -> str:
    from reconciler.render import human, jsonplan, markdown

    renderers: dict[Format, Callable[[Plan], str]] = {
        Format.HUMAN: lambda p: human.render(p, color=OPTIONS.color),
        Format.JSON: jsonplan.render,
        Format.MARKDOWN: markdown.render,
    }
    return renderers[output](plan)


@app.command()
def validate() -> None:
    """Check every meeting file and reconciler.yaml; print every problem as file:line:col: message."""
    with _user_errors():
        config, loaded = _load()
        from reconciler.render.commands import valid_meetings, warning_line

        if loaded.warnings:  # the notices' wording imports the planner's types: only when needed
            from reconciler.render.notices import ordered

            for warning in ordered(loaded.warnings):
                _say(warning_line(warning), err=True)
        _say(valid_meetings(len(loaded.meetings), config.meetings_dir))


@app.command()
def plan(
    output: Annotated[
        Format, typer.Option("--format", help="human, json (schemas/plan.schema.json) or markdown.")
    ] = Format.HUMAN,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan (JSON) for `meetings apply PLANFILE`.")
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 without changes, 2 with changes (drift kept by policy.drift: warn counts as a change).",
        ),
    ] = False,
    allow_mass_cancel: AllowMassCancel = False,
    allow_late: AllowLate = False,
    allow_adopt_mail: AllowAdoptMail = False,
    only_organizers: OnlyOrganizers = None,
    shard: OnlyShard = None,
) -> None:
    """Show what apply would change in the calendars and who would receive which mail."""
    from reconciler.render import jsonplan
    from reconciler.render.commands import plan_saved

    with _user_errors():
        if out is not None:
            _check_plan_destination(out)
        config, loaded = _load()
        provider = _open_provider(config)
        try:
            selection = _selection(only_organizers, shard)
            _say_selection(selection)
            result = _plan(
                config,
                loaded,
                provider,
                allow_mass_cancel=allow_mass_cancel,
                allow_late=allow_late,
                allow_adopt_mail=allow_adopt_mail,
                selection=selection,
            )
        finally:
            provider.close()
        typer.echo(_render(result, output), nl=False)
        if out is not None:
            _save_plan(out, jsonplan.render(result))
            _say(plan_saved(out), err=True)
        if result.errors or result.unavailable:
            _exit(EXIT_FAILURE)
        # Drift left alone (policy.drift: warn) is still a difference: the nightly drift check must see it.
        if detailed_exitcode and (result.has_changes or result.drift_kept):
            _exit(EXIT_CHANGES)


def _say_selection(selection: Selection) -> None:
    if not selection.everything:
        _say(f"Only the mailboxes of {selection.describe()} are planned.", err=True)


def _check_plan_destination(out: Path) -> None:
    """Refuse an --out path that cannot be written before any calendar is read."""
    from reconciler.errors import PlanError

    if out.is_dir():
        raise PlanError(f"--out {out} is a directory; name the plan file, for example {out / 'plan.json'}.")
    if not out.parent.is_dir():
        raise PlanError(f"Cannot save the plan to {out}: the directory {out.parent} does not exist.")


def _save_plan(out: Path, text: str) -> None:
    from reconciler.errors import PlanError

    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise PlanError(f"Cannot save the plan to {out}: {error.strerror}.") from error


@app.command()
def fmt(
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 and name the files that are not formatted.")
    ] = False,
) -> None:
    """Rewrite the meeting files into the canonical layout (key order, quoting, durations), keeping
    comments; the meetings they declare never change."""
    from reconciler.formatting import format_files
    from reconciler.loading.files import meeting_files
    from reconciler.render.commands import fmt_result, reformatted_file

    with _user_errors():
        config, _ = _load()  # only valid files are formatted: every problem is reported first
        listing = meeting_files(config.meetings_dir, config.root)
        changed = [f for f in format_files(listing.files, config) if f.changed]
        for file in changed:
            if not check:
                file.path.write_text(file.formatted, encoding="utf-8")
            _say(reformatted_file(file.display, check=check), err=check)
        _say(fmt_result(len(changed), len(listing.files), check=check), err=check)
        if check and changed:
            _exit(EXIT_FAILURE)


@app.command()
def show(
    planfile: Annotated[Path, typer.Argument(help="A plan saved with `meetings plan --out`.")],
    output: Annotated[
        Format, typer.Option("--format", help="human, json (schemas/plan.schema.json) or markdown.")
    ] = Format.HUMAN,
) -> None:
    """Show a saved plan as it will be applied (reads only the file: no calendar is read)."""
    with _user_errors():
        typer.echo(_render(_read_plan(planfile), output), nl=False)


def _read_plan(planfile: Path) -> Plan:
    from reconciler.errors import PlanError
    from reconciler.render import jsonplan

    try:
        return jsonplan.parse(planfile.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanError(f"Cannot read the plan file {planfile}: {error.strerror}.") from error


def _read_saved_plan(planfile: Path, config: Config, provider: Provider) -> Plan:
    """The plan saved in `planfile`, if it was made for this backend and namespace."""
    from reconciler.errors import PlanError

    saved = _read_plan(planfile)
    if (saved.backend, saved.namespace) != (provider.name, config.namespace):
        raise PlanError(
            f"The plan was made for backend {saved.backend!r}, namespace {saved.namespace!r}; "
            f"the configuration says {provider.name!r}, {config.namespace!r}."
        )
    return saved


def _still_valid(saved: Plan, provider: Provider) -> tuple[Plan, list[Outcome]]:
    """The saved plan's changes still valid, and those refused because their item moved since."""
    from dataclasses import replace

    from reconciler.reconcile import stale_changes

    valid, refused = stale_changes(saved, provider)
    return replace(valid, errors=saved.errors, warnings=saved.warnings), refused


def _holder(command: str) -> Holder:
    """Who this process is, as the apply lock records it (an operator finds it by host and pid)."""
    import getpass
    import socket
    import uuid

    from reconciler.lockstate import Holder

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        user = "unknown"
    return Holder(user=user, host=socket.gethostname(), pid=os.getpid(), command=command, token=str(uuid.uuid4()))


def _confirm(auto_approve: bool) -> None:
    from reconciler.errors import PlanError
    from reconciler.render.commands import APPLY_CANCELLED

    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise PlanError(
            "Refusing to apply without confirmation: stdin is not a terminal. "
            "Pass --auto-approve to apply non-interactively."
        )
    if not typer.confirm("Apply these changes?", default=False):
        _say(APPLY_CANCELLED)
        _exit(EXIT_FAILURE)


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C (SIGINT): the apply stops after the requests in flight. A
    second Ctrl-C interrupts at once (KeyboardInterrupt, exit 130)."""
    import signal

    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach the main thread only
        return

    def first(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous)
        _say("Stopping after the requests in flight (Ctrl-C again to abort at once).", err=True)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


@app.command()
def apply(
    planfile: Annotated[Path | None, typer.Argument(help="A plan saved with `meetings plan --out`.")] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking for confirmation.")
    ] = False,
    output: Annotated[
        Format,
        typer.Option(
            "--format",
            help="human, markdown (a job summary) or json (one document on stdout: schemas/apply.schema.json).",
        ),
    ] = Format.HUMAN,
    allow_mass_cancel: AllowMassCancel = False,
    allow_late: AllowLate = False,
    allow_adopt_mail: AllowAdoptMail = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            min=0,
            help="Seconds to wait for another apply of the namespace to finish (0: do not wait).",
        ),
    ] = 60.0,
    only_organizers: OnlyOrganizers = None,
    shard: OnlyShard = None,
    max_wait: Annotated[
        float,
        typer.Option(
            "--max-wait",
            min=0,
            help="Seconds one mailbox may spend waiting out the back-offs Exchange asks for; past it its"
            " remaining changes fail.",
        ),
    ] = DEFAULT_MAX_WAIT,
) -> None:
    """Take the apply lock of every mailbox, plan again (or read PLANFILE), show the plan, ask,
    then write the changes: mailboxes in parallel, each paced to Exchange's sending limits."""
    import time

    from reconciler.locking import LockSettings, apply_lock
    from reconciler.pace import pace_for
    from reconciler.progressview import ProgressView
    from reconciler.reconcile import apply_plan, organizers_to_scan, remember_state
    from reconciler.render import human, jsonapply, markdown
    from reconciler.render.commands import PLAN_HAS_ERRORS
    from reconciler.report import ApplyReport

    with _user_errors():
        saved: Plan | None = None
        given = [
            name
            for name, on in (
                ("--allow-mass-cancel", allow_mass_cancel),
                ("--allow-late", allow_late),
                ("--allow-adopt-mail", allow_adopt_mail),
                ("--organizer", bool(only_organizers)),
                ("--shard", shard is not None),
            )
            if on
        ]
        if planfile is not None and given:
            from reconciler.errors import PlanError

            flag = given[0]
            raise PlanError(
                f"{flag} is given to `meetings plan --out`, not to `meetings apply PLANFILE`: a saved plan is applied"
                f" exactly as it was reviewed. Plan again with {flag}, review, then apply that plan."
            )
        if planfile is None:
            config, loaded = _load()
        else:
            config = _config()
        provider = _open_provider(config)
        try:
            selection = _selection(only_organizers, shard)
            others: list[str] = []
            if planfile is None:
                _say_selection(selection)
                scanned = organizers_to_scan(
                    loaded.meetings,
                    provider,
                    (*config.listed_organizers, *selection.organizers),
                    namespace=config.namespace,
                )
                # Only the selection's mailboxes are locked, planned and applied (one CI job per shard).
                organizers = selection.only(scanned)
                others = [o for o in scanned if o not in organizers]
            else:
                saved = _read_saved_plan(planfile, config, provider)
                organizers = sorted({c.organizer for c in saved.changes})
            command = "meetings apply" + (f" {planfile}" if planfile else "")
            # The plan (or the stale check of a saved one) is made under the lock: another apply
            # cannot write between what this one reads and what it writes.
            with apply_lock(
                provider,
                config.namespace,
                organizers,
                _holder(command),
                clock=_now,
                sleep=time.sleep,
                settings=LockSettings(timeout=lock_timeout),
            ) as lock:
                refused: list[Outcome] = []
                if saved is None:
                    result = _plan(
                        config,
                        loaded,
                        provider,
                        allow_mass_cancel=allow_mass_cancel,
                        allow_late=allow_late,
                        organizers=organizers,
                        allow_adopt_mail=allow_adopt_mail,
                        selection=selection,
                    )
                else:
                    result, refused = _still_valid(saved, provider)
                # In Markdown (a job summary) the apply report below shows every change; the plan is
                # printed only when nothing will be applied, so the reason is on the page. A saved
                # plan whose changes were all refused is explained by the report alone (it is not a
                # plan without changes). In JSON, stdout holds one document, printed at the end: the
                # plan and the apply report together.
                all_refused = bool(refused) and not result.changes and not result.errors
                nothing_to_apply = bool(result.errors) or not result.changes
                shown = output is Format.HUMAN or (output is Format.MARKDOWN and nothing_to_apply)
                if shown and not all_refused:
                    typer.echo(_render(result, output), nl=False)
                if result.errors:
                    if output is Format.JSON:
                        typer.echo(jsonapply.render(result, ApplyReport(())), nl=False)
                    _say(PLAN_HAS_ERRORS, err=True)
                    _exit(EXIT_FAILURE)
                outcomes: tuple[Outcome, ...] = ()
                if result.changes:
                    # A saved plan was reviewed already (as with `terraform apply PLANFILE`): no prompt.
                    _confirm(auto_approve or planfile is not None)
                    with _stop_on_interrupt() as stop, ProgressView(len(result.changes)) as view:
                        outcomes = apply_plan(
                            result,
                            provider,
                            on_progress=view,
                            guard=lock.renew_if_due,
                            pace=pace_for(config.limits, provider.capabilities, max_wait=max_wait),
                            stop=stop,
                        ).outcomes
                remember_state(lock, provider, config.namespace, result, others)
        finally:
            provider.close()
        report = ApplyReport(outcomes + tuple(refused))
        if output is Format.MARKDOWN and report.outcomes:
            typer.echo(markdown.render_apply_summary(report), nl=False)
        if output is Format.JSON:
            typer.echo(jsonapply.render(result, report), nl=False)
        # stdout holds one document in the machine formats; the text report then goes to stderr.
        typer.echo(human.render_apply_problems(report), err=True, nl=False)
        typer.echo(human.render_apply_result(report), err=output is not Format.HUMAN, nl=False)
        typer.echo(human.render_unapplied(result), err=True, nl=False)
        if not report.ok or result.unavailable:
            _exit(EXIT_FAILURE)


@app.command()
def inspect(
    meeting_id: Annotated[str, typer.Argument(metavar="ID", help="The meeting's id, as in its file.")],
    organizer: Annotated[
        str | None,
        typer.Option(
            "--organizer",
            metavar="ADDRESS",
            callback=_check_organizer,
            help="The mailbox holding it (default: the organizer its file names).",
        ),
    ] = None,
    output: Annotated[
        MailFormat, typer.Option("--format", help="human or json (schemas/inspect.schema.json).")
    ] = MailFormat.HUMAN,
) -> None:
    """Show one managed item as the server holds it: the raw item, our marker and last-applied
    record, the fingerprints, and which fields the plan changes and why."""
    from reconciler.errors import PlanError
    from reconciler.inspection import inspect_item
    from reconciler.loading.values import normalize_address
    from reconciler.render.inspection import render, render_json

    with _user_errors():
        config, loaded = _load()
        desired = next((m for m in loaded.meetings if m.id == meeting_id), None)
        mailbox = normalize_address(organizer) if organizer else desired.organizer if desired else None
        if mailbox is None:
            raise PlanError(f"No meeting file declares {meeting_id!r}; pass --organizer with the mailbox holding it.")
        provider = _open_provider(config)
        try:
            raw = provider.inspect(mailbox, config.namespace, meeting_id)
            if raw is None:
                raise PlanError(
                    f"No calendar item in {mailbox}'s calendar carries the id {meeting_id!r} of namespace"
                    f" {config.namespace!r}."
                )
            inspection = inspect_item(
                raw,
                desired if desired is not None and desired.organizer == mailbox else None,
                now=_now(),
                policy=_plan_policy(config),
                capabilities=provider.capabilities,
                backend=provider.name,
                namespace=config.namespace,
            )
        finally:
            provider.close()
        typer.echo(render_json(inspection) if output is MailFormat.JSON else render(inspection), nl=False)


@app.command()
def unlock(
    organizer: Annotated[
        str | None,
        typer.Option("--organizer", help="The mailbox whose lock to clear (default: every mailbox apply would lock)."),
    ] = None,
) -> None:
    """Clear the apply lock of the namespace, whoever holds it (after an apply crashed or was killed).

    An apply still running loses its lock and stops at its next renewal (within half the lock's
    10 minutes), before the write that follows it."""
    from reconciler.locking import unlock as clear_lock
    from reconciler.reconcile import organizers_to_scan
    from reconciler.render.commands import lock_removed, lock_state_reset, no_lock

    with _user_errors():
        if organizer is None:
            config, loaded = _load()
            meetings = loaded.meetings
        else:
            config, meetings = _config(), ()
        provider = _open_provider(config)
        try:
            if organizer is not None:
                organizers = [organizer.lower()]
            else:
                organizers = organizers_to_scan(
                    meetings, provider, config.listed_organizers, namespace=config.namespace
                )
            for mailbox in organizers:
                removed = clear_lock(provider, config.namespace, mailbox)
                for record in removed:
                    _say(lock_state_reset(mailbox) if record.holder is None else lock_removed(record, mailbox, _now()))
                if not removed:
                    _say(no_lock(mailbox))
        finally:
            provider.close()


@app.command("import")
def import_(
    organizer: Annotated[
        str | None, typer.Option("--organizer", help="The mailbox whose meetings are imported.")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=["%Y-%m-%d"], help="Only meetings (or series) ending on or after this date."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only subjects matching this regular expression.")
    ] = None,
    attendee: Annotated[str | None, typer.Option("--attendee", help="Only meetings with this attendee.")] = None,
    series_only: Annotated[bool, typer.Option("--series-only", help="Only recurring meetings.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the new files (default: the meetings directory).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the files instead of writing them.")] = False,
    drift: Annotated[
        bool,
        typer.Option("--drift", help="Instead: write the edits made in Outlook to managed meetings into their files."),
    ] = False,
) -> None:
    """Write a meeting file for each of the organizer's meetings that no namespace manages yet, so
    the next apply adopts them (marks them ours) instead of inviting everyone again. With --drift,
    write the edits people made in Outlook to managed meetings back into the meeting files."""
    import re

    from reconciler.calendar_import import run_import
    from reconciler.errors import ConfigError
    from reconciler.importing import ImportFilter
    from reconciler.providers.factory import open_provider
    from reconciler.render import commands as words

    with _user_errors():
        try:
            pattern = re.compile(subject) if subject is not None else None
        except re.error as error:
            raise ConfigError(f"--subject {subject!r} is not a regular expression: {error}.") from error
        config, loaded = _load()
        if drift:
            _write_back_drift(config, loaded, dry_run=dry_run)
            return
        if organizer is None:
            raise ConfigError("meetings import needs --organizer (the mailbox whose meetings to import), or --drift.")
        directory = out if out is not None else config.meetings_dir
        choose = ImportFilter(since.date() if since else None, pattern, attendee, series_only)
        provider = open_provider(config)
        try:
            result = run_import(provider, config, loaded.meetings, organizer.lower(), choose)
        finally:
            provider.close()
        for skipped in result.skipped:
            _say(words.import_skipped(skipped.subject, skipped.reason), err=True)
        for file in result.files:
            target = directory / file.file_name
            if dry_run:
                typer.echo(f"# {target}\n{file.text}", nl=False)
                continue
            if target.exists():
                raise ConfigError(f"{target} exists already; choose another --out directory.")
            directory.mkdir(parents=True, exist_ok=True)
            target.write_text(file.text, encoding="utf-8")
            _say(words.import_wrote(target, file.meeting_id))
        _say(words.import_result(len(result.files), dry_run=dry_run), err=dry_run)


def _write_back_drift(config: Config, loaded: Loaded, *, dry_run: bool) -> None:
    """`meetings import --drift`: plan with drift reverted, then write each drifted field into its file."""
    import difflib
    from dataclasses import replace

    from reconciler.providers.factory import open_provider
    from reconciler.render import commands as words
    from reconciler.writeback import drift_edits

    provider = open_provider(config)
    try:
        reverting = replace(config, policy=replace(config.policy, drift="revert"))
        result = _plan(reverting, loaded, provider, allow_mass_cancel=True, allow_late=True)
    finally:
        provider.close()
    edits, skipped = drift_edits(result, loaded.meetings, config.groups, config.root)
    for edit in edits:
        if dry_run:
            old = edit.path.read_text(encoding="utf-8").splitlines(keepends=True)
            name = str(edit.path.relative_to(config.root)) if edit.path.is_relative_to(config.root) else str(edit.path)
            diff = difflib.unified_diff(old, edit.text.splitlines(keepends=True), f"a/{name}", f"b/{name}")
            typer.echo("".join(diff), nl=False)
        else:
            edit.path.write_text(edit.text, encoding="utf-8")
        for meeting_id, names in edit.fields.items():
            _say(words.drift_written(names, meeting_id, edit.path, dry_run=dry_run), err=dry_run)
    for left in skipped:
        _say(words.drift_not_written(left.meeting_id, left.fields), err=True)
    count = sum(len(e.fields) for e in edits)
    _say(words.drift_result(count, dry_run=dry_run), err=dry_run)


@app.command()
def status(
    meeting_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="Only this meeting.")] = None,
    attendees: Annotated[bool, typer.Option("--attendees", help="List every attendee with the answer.")] = False,
) -> None:
    """List the managed meetings with their attendees' answers (and rooms that declined)."""
    from reconciler.errors import NotFoundError
    from reconciler.providers.factory import open_provider
    from reconciler.reconcile import observe, organizers_to_scan
    from reconciler.render import status as status_view

    with _user_errors():
        config, loaded = _load()
        provider = open_provider(config)
        try:
            organizers = organizers_to_scan(
                loaded.meetings, provider, config.listed_organizers, namespace=config.namespace
            )
            seen = observe(provider, organizers, config.namespace)
        finally:
            provider.close()
        items = [i for i in seen.items if meeting_id is None or i.meeting_id == meeting_id]
        if meeting_id is not None and not items and not seen.unavailable:
            raise NotFoundError(f"No managed meeting {meeting_id} is in the calendars.")
        typer.echo(status_view.render(items, seen.unavailable, attendees=attendees), nl=False)


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to create the meetings repository (created if missing).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
    action: Annotated[
        str | None,
        typer.Option("--action", help="The meetings-as-code action the workflows use: OWNER/REPOSITORY@REF."),
    ] = None,
) -> None:
    """Scaffold a meetings repository: configuration, an example meeting, GitHub workflows, editor and
    pre-commit set-up."""
    from reconciler.render.commands import init_next_steps, init_placeholder, init_wrote
    from reconciler.scaffold import default_action, init_repository, uses_placeholder

    with _user_errors():
        chosen = action or default_action()
        for path in init_repository(directory, force=force, action=chosen):
            _say(init_wrote(path))
        for line in init_next_steps(directory):
            _say(line)
        if uses_placeholder(chosen):
            _say(init_placeholder(chosen), err=True)


@sandbox_app.command("mail")
def sandbox_mail(
    address: Annotated[str, typer.Argument(help="The recipient's e-mail address.")],
    output: Annotated[MailFormat, typer.Option("--format", help="human or json.")] = MailFormat.HUMAN,
) -> None:
    """List the meeting mail one person received in the sandbox, oldest first."""
    from reconciler.providers.sandbox_mail import received_mail
    from reconciler.render import mail

    with _user_errors():
        config = _config()
        received = received_mail(config.root / config.sandbox.path, address)
        text = mail.render_json(received) if output is MailFormat.JSON else mail.render_human(address, received)
        typer.echo(text, nl=False)


@sandbox_app.command("respond")
def sandbox_respond(
    address: Annotated[str, typer.Argument(help="The attendee's e-mail address.")],
    meeting_id: Annotated[str, typer.Argument(metavar="ID", help="The meeting's id (from its file).")],
    answer: Annotated[Answer, typer.Argument(help="accept, tentative or decline.")],
) -> None:
    """Answer a sandbox meeting as an attendee would in Outlook; the organizer's item then shows it."""
    from reconciler.people import Response
    from reconciler.providers.sandbox_people import respond_in_sandbox

    responses = {
        Answer.ACCEPT: Response.ACCEPTED,
        Answer.TENTATIVE: Response.TENTATIVE,
        Answer.DECLINE: Response.DECLINED,
    }
    with _user_errors():
        config = _config()
        subject = respond_in_sandbox(
            config.root / config.sandbox.path, config.namespace, address, meeting_id, responses[answer]
        )
        _say(f"{address} answered {answer.value} to {meeting_id} ({subject!r}).")


#: Where `sandbox serve` listens by default, so `graph.base_url` / `ews.endpoint` can stay put.
SERVE_PORT = 8790


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[
        int, typer.Option("--port", help="Graph on PORT, EWS on PORT+1 (0: any free ports).", min=0, max=65534)
    ] = SERVE_PORT,
) -> None:
    """Serve the sandbox store through the Graph and EWS emulators on loopback until interrupted."""
    import threading
    from contextlib import ExitStack

    from reconciler.emulator.store import MailboxStore
    from reconciler.errors import ConfigError
    from reconciler.render.commands import STOPPED, serving

    with _user_errors(), ExitStack() as running:
        config = _config()
        store = MailboxStore(config.root / config.sandbox.path)
        running.callback(store.close)
        from reconciler.emulator.ews.app import serve_ews
        from reconciler.emulator.graph import serve_graph

        try:
            graph = running.enter_context(serve_graph(store, port=port))
            ews = running.enter_context(serve_ews(store, port=port + 1 if port else 0))
        except OSError as error:
            raise ConfigError(
                f"Cannot listen on 127.0.0.1:{port} and {port + 1} ({error.strerror}); pass --port with free"
                " ports, or --port 0 for any."
            ) from None
        for line in serving(graph.base_url, ews.base_url):
            _say(line)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            _say(STOPPED)


#: The collector's first-generation threshold for a command (Python's default is 700). A command is
#: a short process that builds tens of thousands of objects without cycles (documents, meetings,
#: states); at the default, collections re-walk them all again and again and cost 10-20% of a
#: plan of 10,000 meetings. mypy raises it the same way for the same reason.
COLLECT_EVERY = 200_000


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(COLLECT_EVERY, *gc.get_threshold()[1:])
    try:
        app()
    except KeyboardInterrupt:
        _say("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
