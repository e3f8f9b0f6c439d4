"""exchangelib plumbing for the EWS provider: the only module importing exchangelib (the provider loads it lazily).

* Connection: explicit endpoint, auth type, server version, access type and a UTC default time zone,
  so exchangelib never autodiscovers, probes or picks up the host's zone.
* Retry policy: exchangelib's FailFast, plus HTTP 429 and 503 raised as ErrorServerBusy carrying the
  server's Retry-After, and an HTTP 500/502/504 whose body is no SOAP answer (a proxy's or IIS's
  error page) raised as `GatewayError`. Retrying is ours (`Retrier`): bounded attempts and total
  wait, the server's back-off hint honoured (BackOffMilliseconds of a SOAP fault or of a response
  message, Retry-After), one token refresh on HTTP 401, and never a retry of a write whose outcome
  is unknown (a timeout, a lost connection or a gateway error after sending): that is a
  TransientError for the caller to look up. Reads are repeated after those.
* Errors: every exchangelib error leaves as a `reconciler.errors.ProviderError`, chained, worded as
  a sentence (never a library repr such as urllib3's connection-pool text).
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as time_of_day
from typing import Any, ClassVar, TypeVar

import requests
import requests.adapters
from exchangelib import (
    DELEGATE,
    IMPERSONATION,
    Account,
    Attendee,
    Body,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    HTMLBody,
    Version,
)
from exchangelib import errors as ews_errors
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials, OAuth2Credentials
from exchangelib.fields import CharField
from exchangelib.folders import Calendar
from exchangelib.items import ALL_OCCURRENCES, HARD_DELETE, NEVER_OVERWRITE, SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.properties import (
    DaylightTime,
    DistinguishedFolderId,
    FreeBusyViewOptions,
    Mailbox,
    MailboxData,
    OccurrenceItemId,
    StandardTime,
    TimeWindow,
    TimeZone,
)
from exchangelib.protocol import BaseProtocol, FailFast, Protocol
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from exchangelib.services import DeleteItem, GetUserAvailability
from exchangelib.services.common import EWSService
from exchangelib.transport import BASIC, NOAUTH, NTLM, OAUTH2
from exchangelib.util import TNS, is_xml

from reconciler import timezones
from reconciler.errors import (
    AuthError,
    ConflictError,
    MailboxUnavailableError,
    NotFoundError,
    ProviderError,
    RequestRejectedError,
    ThrottledError,
    TransientError,
)
from reconciler.model import (
    PROP_LAST_APPLIED,
    PROP_MEETING_ID,
    PROP_NAMESPACE,
    PROP_NAMESPACE_ITEM,
    PROP_STATE,
    PROPERTY_SET_GUID,
)
from reconciler.providers.ews import lock, wire
from reconciler.providers.wirelog import WireLog

T = TypeVar("T")

_BUILDS = {
    "Exchange2013": Build(15, 0),
    "Exchange2013_SP1": Build(15, 0, 847),
    "Exchange2016": Build(15, 1),
    "Exchange2019": Build(15, 2),
    "ExchangeSE": Build(15, 2),
}


def version_for(name: str) -> Version:
    """`Exchange2016`, `Exchange2019`, `ExchangeSE`, `Exchange2013[_SP1]` or a build `15.2.2562.17`."""
    if name in _BUILDS:
        return Version(build=_BUILDS[name])
    parts = name.split(".")
    if 2 <= len(parts) <= 4 and all(p.isdigit() for p in parts):
        return Version(build=Build(*(int(p) for p in parts)))
    raise ValueError(
        f'"{name}" is not an Exchange version this backend knows; use Exchange2016, Exchange2019, ExchangeSE '
        "or a build number such as 15.2.2562.17."
    )


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, (parsed - datetime.now(UTC)).total_seconds()) if parsed else None


class GatewayError(ews_errors.TransportError):  # type: ignore[misc]
    """HTTP 500, 502 or 504 whose body is not a SOAP answer: a proxy or load balancer in front of
    Exchange (or IIS itself) failed or gave up waiting. Exchange may or may not have done the work."""

    def __init__(self, status: int, reason: str, back_off: float | None) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status, self.reason, self.back_off = status, reason, back_off


class BoundedFailFast(FailFast):  # type: ignore[misc]
    """FailFast that reports HTTP 429 and 503 as ErrorServerBusy with the server's Retry-After
    (exchangelib would report 429 as a malformed response and drop the hint of a 503), and a
    non-SOAP 500/502/504 as GatewayError (exchangelib: a MalformedResponseError quoting the page)."""

    def raise_response_errors(self, response: Any) -> None:
        status = response.status_code
        if status in (429, 503):
            raise ews_errors.ErrorServerBusy(f"HTTP {status}", back_off=_retry_after(response))
        if (
            status in (500, 502, 504)
            and not response.headers.get("X-CasErrorCode")  # an auth failure, reported by exchangelib
            and not (response.content and is_xml(response.content))  # a SOAP fault, parsed by exchangelib
        ):
            raise GatewayError(status, response.reason or "", _retry_after(response))
        super().raise_response_errors(response)


_library_exception = EWSService._get_exception


def _exception_with_back_off(code: str, text: str, msg_xml: Any = None, rule_errors: Any = None) -> Exception:
    """exchangelib's reading of a response message's error, keeping the BackOffMilliseconds an
    ErrorServerBusy message carries (exchangelib drops it there and waits its own 10 s instead)."""
    error: Exception = _library_exception(code, text, msg_xml=msg_xml, rule_errors=rule_errors)
    if isinstance(error, ews_errors.ErrorServerBusy) and msg_xml is not None and not error.back_off:
        for value in msg_xml.findall(f"{{{TNS}}}Value"):
            if value.get("Name") == "BackOffMilliseconds" and (value.text or "").strip().isdigit():
                error.back_off = int(value.text.strip()) / 1000.0
    return error


class LargeChunkAdapter(requests.adapters.HTTPAdapter):
    """exchangelib parses answers from `response.iter_content()`, whose default chunk is one byte:
    a 3 MB listing of 1,000 meetings then costs millions of Python calls. Same transport, 64 KiB chunks.

    With `wire_log` set, every exchange is also written to it (reading each answer whole first).
    exchangelib builds its adapters from the class (`BaseProtocol.get_adapter` is a class method), and
    every session it opens (EWS requests, OAuth token requests, NTLM's handshake legs, which
    requests-ntlm sends through the adapter directly) sends through one: so the log is the class's,
    set by the Connection that wants it and cleared when it closes.
    """

    wire_log: ClassVar[WireLog | None] = None

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        log = LargeChunkAdapter.wire_log
        if log is None:
            return super().send(request, *args, **kwargs)
        started = time.monotonic()
        record: dict[str, Any] = {
            "backend": "ews",
            "method": request.method or "",
            "url": request.url or "",
            "request_headers": list(request.headers.items()),
            "request_body": request.body,
        }
        try:
            response = super().send(request, *args, **kwargs)
            content = response.content
        except Exception as error:
            log.record(
                **record,
                status=None,
                elapsed_ms=(time.monotonic() - started) * 1000,
                error=f"{type(error).__name__}: {error}",
            )
            raise
        log.record(
            **record,
            status=response.status_code,
            response_headers=list(response.headers.items()),
            response_body=content,
            elapsed_ms=(time.monotonic() - started) * 1000,
        )
        return response

    def build_response(self, req: Any, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        iter_content: Any = response.iter_content

        def large_chunks(chunk_size: int | None = 65536, decode_unicode: bool = False) -> Any:
            # exchangelib asks with the default (1); anyone asking for more gets what they asked for.
            return iter_content(chunk_size=max(chunk_size or 1, 65536), decode_unicode=decode_unicode)

        response.iter_content = large_chunks  # type: ignore[method-assign]
        return response


class _Capture(WireLog):
    """Keeps the text of every answer (and passes each exchange on to the wire log in use, if any)."""

    def __init__(self, inner: WireLog | None) -> None:
        self.inner = inner
        self.answers: list[str] = []

    def record(
        self,
        *,
        backend: str,
        method: str,
        url: str,
        request_headers: Iterable[tuple[str, str]],
        request_body: bytes | str | None,
        status: int | None,
        response_headers: Iterable[tuple[str, str]] = (),
        response_body: bytes | str | None = None,
        elapsed_ms: float,
        error: str | None = None,
    ) -> None:
        if isinstance(response_body, bytes):
            self.answers.append(response_body.decode("utf-8", errors="replace"))
        if self.inner is not None:
            self.inner.record(
                backend=backend,
                method=method,
                url=url,
                request_headers=request_headers,
                request_body=request_body,
                status=status,
                response_headers=response_headers,
                response_body=response_body,
                elapsed_ms=elapsed_ms,
                error=error,
            )


@contextmanager
def captured_answers() -> Iterator[list[str]]:
    """The text of every EWS answer received inside the block (for `inspect`: the item as the
    server sent it, not as exchangelib parsed it). One caller at a time: `meetings inspect`."""
    capture = _Capture(LargeChunkAdapter.wire_log)
    LargeChunkAdapter.wire_log = capture
    try:
        yield capture.answers
    finally:
        LargeChunkAdapter.wire_log = capture.inner


def install_adapter() -> None:
    """Use LargeChunkAdapter through exchangelib's documented hook, unless an application already
    installed its own adapter (a proxy or TLS set-up) there; and read the back-off hint of an
    ErrorServerBusy response message (`_exception_with_back_off`)."""
    if BaseProtocol.HTTP_ADAPTER_CLS is requests.adapters.HTTPAdapter:
        BaseProtocol.HTTP_ADAPTER_CLS = LargeChunkAdapter
    EWSService._get_exception = staticmethod(_exception_with_back_off)
    Protocol.decrease_poolsize = _keep_pool_size


def _keep_pool_size(self: Any) -> None:
    """Stands in for exchangelib's `Protocol.decrease_poolsize`, which every ErrorServerBusy calls:
    it takes the session pool's lock and then waits for a free session, whose creation takes the
    same lock, so with every session in use by other threads it deadlocks (seen with four
    mailboxes applied in parallel under ErrorServerBusy; exchangelib 5.6.0 `protocol.py`). The pool
    keeps its size (`max_connections`); the Retrier waits out the server's back-off instead."""


class RefreshableTokenCredentials(OAuth2AuthorizationCodeCredentials):  # type: ignore[misc]
    """A bearer token from a callable (a token cache, azure-identity, ...); fetched again on 401."""

    def __init__(self, token_provider: Callable[[], str]) -> None:
        self._token_provider = token_provider
        super().__init__(access_token={"access_token": token_provider(), "token_type": "Bearer"})

    def renew(self) -> None:
        self.access_token = {"access_token": self._token_provider(), "token_type": "Bearer"}

    def refresh(self, session: Any) -> None:
        self.renew()


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach one EWS endpoint. `auth`: oauth2 | ntlm | basic | token | none."""

    endpoint: str
    auth: str = "oauth2"
    version: str = "Exchange2016"
    username: str | None = None
    password: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token_provider: Callable[[], str] | None = None
    timeout: float = 120.0
    max_connections: int = 4
    wire_log: WireLog | None = None


class Connection:
    """One exchangelib Configuration and one cached Account per organizer mailbox."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        install_adapter()
        if settings.wire_log is not None:
            LargeChunkAdapter.wire_log = settings.wire_log
        credentials: Any
        if settings.auth == "oauth2":
            # App-only client credentials acting for each organizer through impersonation.
            credentials = OAuth2Credentials(
                client_id=settings.client_id, client_secret=settings.client_secret, tenant_id=settings.tenant_id
            )
            auth_type, self.access_type = OAUTH2, IMPERSONATION
        elif settings.auth in ("ntlm", "basic"):
            credentials = Credentials(username=settings.username, password=settings.password)
            auth_type, self.access_type = (NTLM if settings.auth == "ntlm" else BASIC), DELEGATE
        elif settings.auth == "token":
            if settings.token_provider is None:
                raise ValueError("The token auth mode needs a token provider.")
            credentials = RefreshableTokenCredentials(settings.token_provider)
            auth_type, self.access_type = OAUTH2, DELEGATE
        elif settings.auth == "none":
            credentials, auth_type, self.access_type = None, NOAUTH, DELEGATE
        else:
            raise ValueError(f'"{settings.auth}" is not an EWS auth mode; use oauth2, ntlm or basic.')
        self.credentials = credentials
        self.config = Configuration(
            service_endpoint=settings.endpoint,
            credentials=credentials,
            auth_type=auth_type,
            version=version_for(settings.version),
            retry_policy=BoundedFailFast(),
            max_connections=settings.max_connections,
        )
        self._accounts: dict[str, Account] = {}
        self._calendars: dict[str, Any] = {}
        # Threads applying different mailboxes share the caches (exchangelib's Account and
        # Protocol are thread-safe; these dictionaries are ours).
        self._cache_lock = threading.RLock()

    def account(self, mailbox: str) -> Account:
        key = mailbox.lower()
        with self._cache_lock:
            return self._account(key)

    def _account(self, key: str) -> Account:
        if key not in self._accounts:
            account = Account(
                primary_smtp_address=key,
                config=self.config,
                autodiscover=False,
                access_type=self.access_type,
                default_timezone=EWSTimeZone("UTC"),
            )
            account.protocol.TIMEOUT = self.settings.timeout
            self._accounts[key] = account
        return self._accounts[key]

    def calendar(self, mailbox: str) -> Any:
        """The organizer's calendar folder: one GetFolder the first time (the mailbox's root,
        which also tells an unknown or inaccessible mailbox early), cached after.

        `account.calendar` costs two: the root, then the calendar. exchangelib needs the root anyway
        (`Account.fetch` validates items against a folder under it), but not the calendar fetched:
        every request addresses it by its DistinguishedFolderId and mailbox (exchangelib's `to_id`
        prefers the distinguished id to the folder id), so it is built unfetched, as exchangelib's
        own `get_default_folder` does when GetFolder is refused.
        """
        key = mailbox.lower()
        with self._cache_lock:
            # Held while the root is read: threads applying one mailbox read it once.
            if key not in self._calendars:
                account = self._account(key)
                mailbox_id = Mailbox(email_address=account.primary_smtp_address)
                self._calendars[key] = Calendar(
                    root=account.root,
                    _distinguished_id=DistinguishedFolderId(id=Calendar.DISTINGUISHED_FOLDER_ID, mailbox=mailbox_id),
                )
            return self._calendars[key]

    def refresh_credentials(self) -> bool:
        """Drop the cached token and sessions so the next request authenticates afresh."""
        if isinstance(self.credentials, RefreshableTokenCredentials):
            self.credentials.renew()
        elif isinstance(self.credentials, OAuth2Credentials):
            self.credentials.access_token = None
        else:
            return False
        self.protocol().close()
        return True

    def protocol(self) -> Any:
        return Protocol(config=self.config)

    def close(self) -> None:
        if self.settings.wire_log is not None and LargeChunkAdapter.wire_log is self.settings.wire_log:
            LargeChunkAdapter.wire_log = None
        if not self._accounts:
            return
        protocol = self.protocol()
        protocol.close()
        with contextlib.suppress(KeyError):
            del Protocol[self.config]
        self._accounts.clear()
        self._calendars.clear()


# -- calendar items --------------------------------------------------------------------------------

_REGISTERED = False
_REGISTER_LOCK = threading.Lock()


def _property(name: str) -> type[ExtendedProperty]:
    return type(
        f"MeetingsAsCode{name.rsplit('.', 1)[-1]}",
        (ExtendedProperty,),
        {"property_set_id": PROPERTY_SET_GUID, "property_name": name, "property_type": "String"},
    )


def register_properties() -> None:
    """Register our named properties on CalendarItem once per process (same GUID and names as
    Graph's `String {GUID} Name <name>`, so both APIs reach the same MAPI named properties): the
    meetings' three ownership properties, the apply lock's two, and the legacy time zone text field."""
    global _REGISTERED
    with _REGISTER_LOCK:
        if _REGISTERED:
            return
        legacy_zone = CharField(
            wire.LEGACY_ZONE_ATTR, field_uri="calendar:TimeZone", is_read_only=True, is_searchable=False
        )
        CalendarItem.add_field(legacy_zone, insert_after="duration")
        for attr, name in (
            (wire.NAMESPACE_ATTR, PROP_NAMESPACE),
            (wire.MEETING_ID_ATTR, PROP_MEETING_ID),
            (wire.RECORD_ATTR, PROP_LAST_APPLIED),
            (lock.NAMESPACE_ITEM_ATTR, PROP_NAMESPACE_ITEM),
            (lock.STATE_ATTR, PROP_STATE),
        ):
            CalendarItem.register(attr, _property(name))
        _REGISTERED = True


def ews_zone(iana: str) -> EWSTimeZone:
    """The EWSTimeZone for a meeting's IANA zone (CLDR's golden zone when exchangelib lacks the name)."""
    try:
        return EWSTimeZone(iana)
    except ews_errors.UnknownTimeZone:
        pass
    try:
        return EWSTimeZone.from_ms_id(timezones.to_windows(iana))
    except (ValueError, ews_errors.UnknownTimeZone) as error:
        raise RequestRejectedError(
            f'The time zone "{iana}" has no Windows equivalent that Exchange accepts.'
        ) from error


def _recurrence(wanted: wire.WireRecurrence) -> Recurrence:
    pattern: Any
    if wanted.kind == "daily":
        pattern = DailyPattern(interval=wanted.interval)
    elif wanted.kind == "weekly":
        pattern = WeeklyPattern(
            interval=wanted.interval, weekdays=list(wanted.weekdays), first_day_of_week=wanted.first_day_of_week
        )
    elif wanted.kind == "absoluteMonthly":
        pattern = AbsoluteMonthlyPattern(interval=wanted.interval, day_of_month=wanted.day_of_month)
    elif wanted.kind == "relativeMonthly":
        pattern = RelativeMonthlyPattern(
            interval=wanted.interval, weekday=wanted.weekday, week_number=wanted.week_number
        )
    elif wanted.kind == "absoluteYearly":
        pattern = AbsoluteYearlyPattern(day_of_month=wanted.day_of_month, month=wanted.month)
    else:
        pattern = RelativeYearlyPattern(weekday=wanted.weekday, week_number=wanted.week_number, month=wanted.month)
    boundary: Any
    if wanted.end is not None:
        boundary = EndDatePattern(start=wanted.start, end=wanted.end)
    elif wanted.occurrences is not None:
        boundary = NumberedPattern(start=wanted.start, number=wanted.occurrences)
    else:
        boundary = NoEndPattern(start=wanted.start)
    return Recurrence(pattern=pattern, boundary=boundary)


def _value(value: wire.WireValue) -> Any:
    if isinstance(value, wire.WireTime):
        return EWSDateTime.from_datetime(value.wall).replace(tzinfo=ews_zone(value.zone))
    if isinstance(value, datetime):
        return EWSDateTime.from_datetime(value)
    if isinstance(value, wire.WireZone):
        return ews_zone(value.iana)
    if isinstance(value, wire.WireBody):
        return HTMLBody(value.content) if value.html else Body(value.content)
    if isinstance(value, wire.WireAttendees):
        return [Attendee(mailbox=Mailbox(email_address=a), response_type="Unknown") for a in value.addresses]
    if isinstance(value, wire.WireRecurrence):
        return _recurrence(value)
    return value


def item_kwargs(values: wire.ItemValues) -> dict[str, Any]:
    """CalendarItem keyword arguments of `values` (raises RequestRejectedError for a zone Exchange lacks)."""
    return {name: _value(value) for name, value in values.items()}


def read_recurrence(recurrence: Recurrence | None) -> wire.WireJson | None:
    """exchangelib's Recurrence of a fetched item -> Graph's patternedRecurrence shape (None without
    one, or for a task regeneration pattern, which a calendar item cannot carry)."""
    if recurrence is None or recurrence.pattern is None:
        return None
    pattern = recurrence.pattern
    patterned: wire.WireJson
    if isinstance(pattern, DailyPattern):
        patterned = {"type": "daily", "interval": pattern.interval}
    elif isinstance(pattern, WeeklyPattern):
        patterned = {
            "type": "weekly",
            "interval": pattern.interval,
            "daysOfWeek": wire.day_names(pattern.weekdays),
            "firstDayOfWeek": wire.day_names(pattern.first_day_of_week)[0],
        }
    elif isinstance(pattern, AbsoluteMonthlyPattern):
        patterned = {"type": "absoluteMonthly", "interval": pattern.interval, "dayOfMonth": pattern.day_of_month}
    elif isinstance(pattern, RelativeMonthlyPattern):
        patterned = {
            "type": "relativeMonthly",
            "interval": pattern.interval,
            "daysOfWeek": wire.day_names(pattern.weekday),
            "index": wire.week_index(pattern.week_number),
        }
    elif isinstance(pattern, AbsoluteYearlyPattern):
        patterned = {
            "type": "absoluteYearly",
            "interval": 1,
            "dayOfMonth": pattern.day_of_month,
            "month": wire.month_number(pattern.month),
        }
    elif isinstance(pattern, RelativeYearlyPattern):
        patterned = {
            "type": "relativeYearly",
            "interval": 1,
            "daysOfWeek": wire.day_names(pattern.weekday),
            "index": wire.week_index(pattern.week_number),
            "month": wire.month_number(pattern.month),
        }
    else:
        return None
    boundary = recurrence.boundary
    range_: wire.WireJson = {"type": "noEnd"}
    if isinstance(boundary, EndDatePattern):
        range_ = {"type": "endDate", "endDate": wire.as_date(boundary.end).isoformat()}
    elif isinstance(boundary, NumberedPattern):
        range_ = {"type": "numbered", "numberOfOccurrences": boundary.number}
    return {"pattern": patterned, "range": range_}


def is_html(body: Any) -> bool:
    """Whether a fetched item's body is HTML (exchangelib reads it as HTMLBody)."""
    return isinstance(body, HTMLBody)


def create_item(account: Account, folder: Any, kwargs: Mapping[str, Any], *, send: str) -> CalendarItem:
    """CreateItem of `kwargs` (`item_kwargs`) in `folder`; `send` is the SendMeetingInvitations mode."""
    return CalendarItem(account=account, folder=folder, **kwargs).save(send_meeting_invitations=send)


def update_item(
    account: Account, folder: Any, item_id: str, change_key: str, kwargs: Mapping[str, Any], *, send: str
) -> CalendarItem:
    """UpdateItem of exactly `kwargs` (None deletes a field), ConflictResolution NeverOverwrite with
    `change_key`; `send` is the SendMeetingInvitationsOrCancellations mode."""
    item = CalendarItem(account=account, folder=folder, id=item_id, changekey=change_key, **kwargs)
    return item.save(update_fields=list(kwargs), conflict_resolution=NEVER_OVERWRITE, send_meeting_invitations=send)


def cancel_item(account: Account, folder: Any, item_id: str, change_key: str, comment: str) -> bool:
    """CancelCalendarItem (the comment as NewBodyContent); False when the item has no attendees to
    tell (ErrorInvalidRecipients), nothing written then."""
    item = CalendarItem(account=account, folder=folder, id=item_id, changekey=change_key)
    options = {"new_body": Body(comment)} if comment else {}
    try:
        item.cancel(**options)
    except ews_errors.ErrorInvalidRecipients:
        return False
    return True


def delete_item(account: Account, folder: Any, item_id: str, change_key: str | None) -> None:
    """DeleteItem (HardDelete), SendToNone: nobody is mailed."""
    CalendarItem(account=account, folder=folder, id=item_id, changekey=change_key).delete(
        send_meeting_cancellations=SEND_TO_NONE
    )


def occurrence_item(account: Account, folder: Any, master: Any, index: int, values: wire.ItemValues) -> CalendarItem:
    """A CalendarItem addressing one occurrence of `master` by InstanceIndex (AutoResolve writes
    carry the master's latest change key), with the values to write on it."""
    return CalendarItem(
        account=account,
        folder=folder,
        _id=OccurrenceItemId(id=master.id, changekey=master.changekey, instance_index=index),
        **item_kwargs(values),
    )


# -- occurrences -----------------------------------------------------------------------------------


class _DeleteOccurrences(DeleteItem):  # type: ignore[misc]
    """DeleteItem that answers "already deleted from the series" per occurrence instead of raising
    it (exchangelib raises it for the whole request, hiding the other occurrences' answers)."""

    ERRORS_TO_CATCH_IN_RESPONSE = (
        *DeleteItem.ERRORS_TO_CATCH_IN_RESPONSE,
        ews_errors.ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    )


def cancel_occurrences(account: Account, occurrences: list[Any]) -> None:
    """Delete occurrences of a series (OccurrenceItemIds; one request per 100), sending each of
    their attendees a cancellation. One found already deleted counts as cancelled: that is what a
    retry after a lost answer meets. Any other failure is raised."""
    results = _DeleteOccurrences(account=account).call(
        items=occurrences,
        delete_type=HARD_DELETE,
        send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY,
        affected_task_occurrences=ALL_OCCURRENCES,
        suppress_read_receipts=True,
    )
    for result in results:
        if isinstance(result, Exception) and not isinstance(
            result, ews_errors.ErrorCalendarOccurrenceIsDeletedFromRecurrence
        ):
            raise result


def change_occurrences(account: Account, changes: list[tuple[Any, list[str]]]) -> None:
    """UpdateItem of occurrences (each with the fields to write; one request per 100), sending each
    of their attendees an update. Any failure is raised."""
    results = account.bulk_update(items=changes, send_meeting_invitations_or_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    for result in results:
        if isinstance(result, Exception):
            raise result


# -- availability ----------------------------------------------------------------------------------


def _utc_availability_zone() -> TimeZone:
    """The legacy availability TimeZone of UTC: no bias, no daylight-saving transitions."""
    rule = {"bias": 0, "time": time_of_day(0), "occurrence": 1, "iso_month": 1, "weekday": 1}
    return TimeZone(bias=0, standard_time=StandardTime(**rule), daylight_time=DaylightTime(**rule))


class _EachMailboxAvailability(GetUserAvailability):  # type: ignore[misc]
    """Every per-mailbox error (ErrorNoFreeBusyAccess, ...) is returned for its mailbox instead of
    raised: exchangelib raises all but a few, which would lose the whole batch."""

    ERRORS_TO_CATCH_IN_RESPONSE = (*GetUserAvailability.ERRORS_TO_CATCH_IN_RESPONSE, ews_errors.ResponseMessageError)


def availability(protocol: Any, addresses: list[str], start: datetime, end: datetime) -> list[Any]:
    """One GetUserAvailability (FreeBusyViewOptions, Detailed) of `addresses` in [start, end), asked
    in UTC: exchangelib's FreeBusyView or the per-mailbox error, in the order the server answered.
    Raises exchangelib's errors for a failed request."""
    utc = EWSTimeZone("UTC")
    window = TimeWindow(
        start=EWSDateTime.from_datetime(start.astimezone(UTC)).astimezone(utc),
        end=EWSDateTime.from_datetime(end.astimezone(UTC)).astimezone(utc),
    )
    return list(
        _EachMailboxAvailability(protocol=protocol).call(
            tzinfo=utc,
            mailbox_data=[MailboxData(email=a, attendee_type="Required", exclude_conflicts=False) for a in addresses],
            timezone=_utc_availability_zone(),
            free_busy_view_options=FreeBusyViewOptions(
                time_window=window, merged_free_busy_interval=30, requested_view="Detailed"
            ),
        )
    )


# -- errors ----------------------------------------------------------------------------------------

_CONFLICT = (
    ews_errors.ErrorIrresolvableConflict,
    ews_errors.ErrorStaleObject,
    ews_errors.ErrorInvalidChangeKey,
    ews_errors.ErrorChangeKeyRequired,
    ews_errors.ErrorChangeKeyRequiredForWriteOperations,
)
_NOT_FOUND = (
    ews_errors.ErrorItemNotFound,
    ews_errors.ErrorCalendarCannotUpdateDeletedItem,
    ews_errors.ErrorCalendarIsCancelledForRemove,
)
_AUTH = (
    ews_errors.UnauthorizedError,
    ews_errors.ErrorAccessDenied,
    ews_errors.ErrorImpersonateUserDenied,
    ews_errors.ErrorImpersonationDenied,
    ews_errors.ErrorImpersonationFailed,
    ews_errors.CASError,
)
_BUSY = (
    ews_errors.ErrorServerBusy,
    ews_errors.ErrorInternalServerTransientError,
    ews_errors.ErrorTooManyObjectsOpened,
    ews_errors.ErrorExceededConnectionCount,
    ews_errors.ErrorMailboxStoreUnavailable,
)


def _is_timeout(error: Exception) -> bool:
    # With more than one pooled session exchangelib re-raises a client timeout as ErrorServerBusy.
    return isinstance(error, ews_errors.ErrorTimeoutExpired) or (
        isinstance(error, ews_errors.ErrorServerBusy) and "ErrorTimeoutExpired" in str(error)
    )


#: What a connection failure's library text means, checked in order.
_CONNECTION_CAUSES = (
    ("Connection refused", "the connection was refused"),
    ("Read timed out", "no answer came within the timeout"),
    ("timed out", "the connection timed out"),
    ("NameResolutionError", "the server name could not be resolved"),
    ("Name or service not known", "the server name could not be resolved"),
    ("getaddrinfo failed", "the server name could not be resolved"),
    ("CERTIFICATE_VERIFY_FAILED", "the server's TLS certificate was not trusted"),
    ("SSLError", "the TLS handshake failed"),
    ("Connection reset", "the connection was reset"),
    ("RemoteDisconnected", "the server closed the connection without answering"),
    ("Connection aborted", "the server closed the connection without answering"),
    ("closed connection", "the server closed the connection without answering"),
)
_LIBRARY_TEXT = re.compile(r"HTTPS?ConnectionPool|Caused by|<urllib3|Max retries exceeded|Reraised from")
_UNKNOWN_STATUS = re.compile(r"Unknown failure in response\. Code: (\d+)")


def describe(error: Exception) -> str:
    """What went wrong, as a phrase for a sentence: the library's own text when it is a message,
    a plain description when it is a transport repr (urllib3's pool text, a quoted error page)."""
    if isinstance(error, GatewayError):
        return f"the server or a proxy in front of it answered {error} instead of an EWS answer"
    text = str(error).strip().rstrip(".")
    unknown = _UNKNOWN_STATUS.search(text)
    if unknown:
        return f"the server answered HTTP {unknown.group(1)} with something that is not an EWS answer"
    if _LIBRARY_TEXT.search(text) or isinstance(error, OSError):
        for marker, meaning in _CONNECTION_CAUSES:
            if marker in text:
                return meaning
        return "the connection failed"
    return text or type(error).__name__


def translate(error: Exception, what: str, *, write: bool = True) -> ProviderError:
    """The project's error for an exchangelib error met while doing `what` (a sentence fragment);
    for a `write`, a lost answer says that the change may or may not have been made."""
    text = describe(error)
    code = type(error).__name__
    unknown = "; the change may or may not have been made" if write else ""
    if _is_timeout(error):
        return TransientError(f"Exchange did not answer while {what} ({text}){unknown}.")
    if isinstance(error, GatewayError):
        return TransientError(f"Exchange failed while {what}: {text}{unknown}.")
    if isinstance(error, _CONFLICT):
        return ConflictError(f"The item changed in Exchange while {what}; read it again and re-plan ({code}).")
    if isinstance(error, _NOT_FOUND):
        return NotFoundError(f"The item no longer exists in Exchange ({what}: {code}).")
    if isinstance(error, _AUTH):
        return AuthError(f"Exchange refused the credentials while {what} ({code}: {text}).")
    if isinstance(error, (ews_errors.RateLimitError, *_BUSY)):
        hint = getattr(error, "back_off", None)
        return ThrottledError(
            f"Exchange kept asking to slow down while {what} ({code}: {text}).",
            retry_after=float(hint) if hint else None,
        )
    if isinstance(error, ews_errors.RedirectError):
        return RequestRejectedError(f"Exchange redirected the request while {what}; check ews.endpoint ({text}).")
    if isinstance(error, ews_errors.ResponseMessageError):
        return RequestRejectedError(f"Exchange rejected the request while {what} ({code}: {text}).")
    if isinstance(error, ews_errors.TransportError | ews_errors.EWSError | OSError):
        return TransientError(f"Talking to Exchange failed while {what}: {text}.")
    return RequestRejectedError(f"The request could not be made while {what} ({code}: {text}).")


#: Answers that concern the whole mailbox: it does not exist, or the service account may not
#: impersonate it (outside the ApplicationImpersonation scope). Other mailboxes still work.
_MAILBOX = {
    "ErrorNonExistentMailbox": "no such mailbox (deleted, or the address is wrong)",
    "ErrorImpersonateUserDenied": "the service account may not impersonate it (ApplicationImpersonation scope)",
    "ErrorImpersonationDenied": "the service account may not impersonate it (ApplicationImpersonation scope)",
    "ErrorAccessDenied": "the service account is denied access to it",
}


@contextmanager
def reading_mailbox(mailbox: str) -> Iterator[None]:
    """Re-raise a read's ProviderError as MailboxUnavailableError where it means the whole mailbox."""
    try:
        yield
    except ProviderError as error:
        unavailable = unavailable_mailbox(error, mailbox)
        if unavailable is None:
            raise
        raise unavailable from error.__cause__


def unavailable_mailbox(error: ProviderError, mailbox: str) -> MailboxUnavailableError | None:
    """The mailbox-level meaning of an error met while reading `mailbox`, if it has one."""
    code = type(error.__cause__).__name__ if error.__cause__ is not None else ""
    if code not in _MAILBOX:
        return None
    text = str(error.__cause__).strip().rstrip(".")
    return MailboxUnavailableError(
        f"Exchange cannot use {mailbox}'s mailbox ({code}: {text}): {_MAILBOX[code]}.", mailbox=mailbox
    )


def is_sdk_error(error: Exception) -> bool:
    return isinstance(error, ews_errors.EWSError | ews_errors.UnknownTimeZone | ValueError | TypeError | OSError)


class Retrier:
    """Runs one EWS operation with bounded retries (see the module docstring)."""

    def __init__(
        self,
        connection: Connection,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        max_wait: float = 300.0,
        base_back_off: float = 2.0,
    ) -> None:
        self.connection = connection
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.base_back_off = base_back_off
        #: Told (mailbox, seconds) before each wait an ErrorServerBusy (or kin) causes.
        self.throttled: Callable[[str, float], None] | None = None

    def run(self, operation: Callable[[], T], *, what: str, write: bool, mailbox: str | None = None) -> T:
        """`operation`'s result, retried as the module docstring says; `mailbox` (the one the
        operation concerns) is told to `throttled` before each wait on a busy server."""
        waited, refreshed = 0.0, False
        for attempt in range(1, self.max_attempts + 1):
            try:
                return operation()
            except Exception as error:
                if isinstance(error, ProviderError) or not is_sdk_error(error):
                    raise
                delay = self._delay(error, attempt, write=write, refreshed=refreshed)
                if delay is None or attempt == self.max_attempts or waited + delay > self.max_wait:
                    raise translate(error, what, write=write) from error
                if isinstance(error, ews_errors.UnauthorizedError):
                    refreshed = True
                if self.throttled is not None and isinstance(error, _BUSY) and mailbox is not None:
                    self.throttled(mailbox.lower(), delay)
                self.sleep(delay)
                waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, error: Exception, attempt: int, *, write: bool, refreshed: bool) -> float | None:
        """Seconds to wait before retrying, or None when this error must not be retried."""
        if _is_timeout(error):
            # A read can be repeated; a write may have been committed and is looked up instead.
            return None if write else self.base_back_off * attempt
        if isinstance(error, GatewayError):
            # Same: the proxy may have passed a write on before failing.
            return None if write else (error.back_off or self.base_back_off * 2 ** (attempt - 1))
        if isinstance(error, _BUSY):
            hint = getattr(error, "back_off", None)
            return float(hint) if hint else self.base_back_off * 2 ** (attempt - 1)
        if isinstance(error, ews_errors.UnauthorizedError) and not refreshed and self.connection.refresh_credentials():
            return 0.0
        return None
