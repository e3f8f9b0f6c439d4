"""Recurring meetings on every backend: a corpus of series (every pattern and range kind, DST
crossings, skipped and changed occurrences) is applied, then:

* planning again finds nothing to do, and the mail sent equals the mail announced, occurrence by
  occurrence (`converge`);
* the calendar view of the backend's own protocol shows exactly the occurrences an independent
  expansion with python-dateutil's rrule gives (built here from the meeting, not by the reconciler);
* every attendee received exactly the expected mail: one invitation per series, one cancellation
  per skipped occurrence and one update per changed one.

Then the corpus is edited (a skip removed, an override removed, a new skip, a series moved an hour)
and the same checks hold again.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule

from reconciler.model import (
    PROP_MEETING_ID,
    Action,
    Every,
    Meeting,
    Recurrence,
    Weekday,
    WeekOfMonth,
    extended_property_id,
)
from reconciler.notices import OccurrenceCancelled, SeriesRewritten
from reconciler.plan import Plan
from reconciler.reconcile import apply_plan
from reconciler.render.notices import word_effect
from tests.contract.backends.harness import Backend, Seen
from tests.contract.test_contract import NOW, last_seq, plan_for
from tests.factories import ORGANIZER, declared_override, meeting

#: The window the calendar views are compared over (EWS allows at most two years).
WINDOW = (NOW, NOW + timedelta(days=700))
#: (recipient, kind, meeting id, occurrence date or "")
OccurrenceMail = Counter[tuple[str, str, str, str]]

_RRULE_DAYS = {d: getattr(rrule, d.value[:2].upper()) for d in Weekday}
_SETPOS = {
    WeekOfMonth.FIRST: 1,
    WeekOfMonth.SECOND: 2,
    WeekOfMonth.THIRD: 3,
    WeekOfMonth.FOURTH: 4,
    WeekOfMonth.LAST: -1,
}


def series(meeting_id: str, start: datetime, zone: str, recurrence: Recurrence, **changes: Any) -> Meeting:
    return meeting(
        meeting_id,
        subject=meeting_id,
        start=start,
        end=start + timedelta(minutes=45),
        timezone=zone,
        recurrence=recurrence,
        **changes,
    )


def corpus(backend: str) -> list[Meeting]:
    """Every pattern kind and range kind; DST crossings in Berlin, New York and Los Angeles."""
    attendees_override = (
        {"required": ["alice@contoso.com", "dave@contoso.com"], "optional": ["carol@contoso.com"]}
        if backend != "ews"
        else {}
    )
    return [
        series(
            "daily/every-3-days",
            datetime(2026, 12, 1, 9, 0),
            "America/New_York",
            Recurrence(every=Every.DAY, interval=3, count=40, skip=(date(2026, 12, 4),)),
        ),
        series(
            "weekly/two-days-every-2-weeks",
            datetime(2026, 12, 3, 10, 0),
            "Europe/Berlin",
            Recurrence(
                every=Every.WEEK,
                interval=2,
                on=(Weekday.MONDAY, Weekday.THURSDAY),
                first_day_of_week=Weekday.SUNDAY,
                until=date(2027, 5, 31),
                skip=(date(2026, 12, 17),),
                overrides=(
                    declared_override(
                        date(2027, 4, 5),
                        {"start": "2027-04-05T14:00", "end": "2027-04-05T15:00", "subject": "Moved after DST"},
                    ),
                ),
            ),
        ),
        series(
            "monthly/day-31",
            datetime(2026, 12, 31, 16, 0),
            "Europe/London",
            Recurrence(every=Every.MONTH, day_of_month=31, count=8),
        ),
        series(
            "monthly/last-friday",
            datetime(2026, 11, 27, 11, 30),
            "Asia/Kolkata",
            Recurrence(
                every=Every.MONTH,
                on=(Weekday.FRIDAY,),
                week_of_month=WeekOfMonth.LAST,
                skip=(date(2027, 1, 29),),
                overrides=(declared_override(date(2027, 2, 26), {"location": "Pune 2", **attendees_override}),),
            ),
        ),
        series(
            "yearly/leap-day",
            datetime(2028, 2, 29, 8, 0),
            "UTC",
            Recurrence(every=Every.YEAR, day_of_month=29, month=2, count=3),
        ),
        series(
            "yearly/fourth-thursday-of-november",
            datetime(2026, 11, 26, 12, 0),
            "America/Los_Angeles",
            Recurrence(
                every=Every.YEAR,
                on=(Weekday.THURSDAY,),
                week_of_month=WeekOfMonth.FOURTH,
                month=11,
                until=date(2031, 12, 31),
            ),
        ),
        series(
            "weekly/berlin-no-end",
            datetime(2026, 12, 1, 10, 0),
            "Europe/Berlin",
            Recurrence(
                every=Every.WEEK,
                on=(Weekday.TUESDAY,),
                overrides=(
                    declared_override(date(2027, 1, 5), {"subject": "Kick-off", "body": "New year, *new plans*."}),
                ),
            ),
        ),
    ]


def independent_expansion(m: Meeting) -> list[Seen]:
    """The meeting's occurrences by python-dateutil's rrule, in its zone, with skips and overrides."""
    assert isinstance(m.start, datetime) and isinstance(m.end, datetime) and m.recurrence is not None
    r = m.recurrence
    freq = {Every.DAY: rrule.DAILY, Every.WEEK: rrule.WEEKLY, Every.MONTH: rrule.MONTHLY, Every.YEAR: rrule.YEARLY}
    kwargs: dict[str, Any] = {"dtstart": m.start, "interval": r.interval, "wkst": _RRULE_DAYS[r.first_day_of_week]}
    if r.every is Every.WEEK:
        kwargs["byweekday"] = [_RRULE_DAYS[d] for d in r.on]
    if r.week_of_month is not None:
        kwargs["byweekday"] = [_RRULE_DAYS[d] for d in r.on]
        kwargs["bysetpos"] = _SETPOS[r.week_of_month]
    elif r.day_of_month is not None:
        # Exchange puts day 29-31 on the last day of a shorter month.
        kwargs["bymonthday"], kwargs["bysetpos"] = list(range(min(r.day_of_month, 28), r.day_of_month + 1)), -1
    if r.month is not None:
        kwargs["bymonth"] = r.month
    if r.until is not None:
        kwargs["until"] = datetime.combine(r.until, time.max)
    if r.count is not None:
        kwargs["count"] = r.count
    zone, duration = ZoneInfo(m.timezone), m.end - m.start
    overrides = {o.date: o for o in r.overrides}
    horizon = WINDOW[1].astimezone(zone).replace(tzinfo=None) + timedelta(days=2)
    seen: list[Seen] = []
    # dateutil's stubs want the frequency as a Literal; the mapping's values widen to int.
    for start in rrule.rrule(freq[r.every], **kwargs):  # type: ignore[arg-type]
        if start > horizon:
            break
        if start.date() in r.skip:
            continue
        change = overrides.get(start.date())
        first = change.start if change is not None and isinstance(change.start, datetime) else start
        last = change.end if change is not None and isinstance(change.end, datetime) else first + duration
        utc_start, utc_end = first.replace(tzinfo=zone).astimezone(UTC), last.replace(tzinfo=zone).astimezone(UTC)
        if utc_start < WINDOW[1] and utc_end > WINDOW[0]:
            seen.append((utc_start, utc_end, change.subject if change and change.subject is not None else m.subject))
    return seen


def occurrence_mail(backend: Backend, seq: int) -> OccurrenceMail:
    return Counter(
        (m.recipient, m.kind, m.extended.get(extended_property_id(PROP_MEETING_ID), ""), m.occurrence or "")
        for m in backend.store.mail()
        if m.seq > seq
    )


def announced(plan: Plan) -> OccurrenceMail:
    return Counter(
        (r, n.kind.value, c.meeting_id, n.occurrence or "")
        for c in plan.changes
        for n in c.notifications
        for r in n.recipients
    )


def converge(backend: Backend, meetings: list[Meeting]) -> tuple[Plan, OccurrenceMail]:
    seq = last_seq(backend)
    plan = plan_for(backend, meetings)
    assert not plan.errors, plan.errors
    report = apply_plan(plan, backend.provider)
    assert report.ok, [o.message for o in report.outcomes if o.status != "applied"]
    sent = occurrence_mail(backend, seq)
    assert sent == announced(plan)
    again = plan_for(backend, meetings)
    assert again.changes == (), [(c.meeting_id, c.action, c.fields) for c in again.changes]
    return plan, sent


def assert_calendar_matches(backend: Backend, meetings: list[Meeting]) -> None:
    assert backend.view is not None
    expected = sorted(seen for m in meetings for seen in independent_expansion(m))
    assert backend.view(ORGANIZER, *WINDOW) == expected


def expected_creation_mail(meetings: list[Meeting]) -> OccurrenceMail:
    mail: OccurrenceMail = Counter()
    for m in meetings:
        assert m.recurrence is not None
        for person in m.attendees:
            mail[(person, "invitation", m.id, "")] += 1
            for day in m.recurrence.skip:
                mail[(person, "cancellation", m.id, day.isoformat())] += 1
        for override in m.recurrence.overrides:
            before = set(m.attendees)
            required = m.required if override.required is None else override.required
            after = set(required) | set(m.optional) | set(m.rooms)
            for person in after - before:
                mail[(person, "invitation", m.id, override.date.isoformat())] += 1
            for person in before - after:
                mail[(person, "cancellation", m.id, override.date.isoformat())] += 1
            for person in before & after:
                mail[(person, "update", m.id, override.date.isoformat())] += 1
    return mail


def test_a_corpus_of_series_lands_as_an_independent_expansion_says_with_exactly_the_expected_mail(
    backend: Backend,
) -> None:
    meetings = corpus(backend.name)
    plan, sent = converge(backend, meetings)
    assert [c.action for c in plan.changes] == [Action.CREATE] * len(meetings)
    assert sent == expected_creation_mail(meetings)
    assert_calendar_matches(backend, meetings)


def _edit(meetings: list[Meeting], meeting_id: str, **changes: Any) -> list[Meeting]:
    return [dataclasses.replace(m, **changes) if m.id == meeting_id else m for m in meetings]


def _recurrence(meetings: list[Meeting], meeting_id: str) -> Recurrence:
    (found,) = [m.recurrence for m in meetings if m.id == meeting_id]
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("meeting_id", "edit", "effect", "mail"),
    [
        (  # a skip removed: Exchange cannot un-cancel one occurrence, so the series is written again
            "daily/every-3-days",
            lambda r: dataclasses.replace(r, skip=()),
            "occurrence on Fri 2026-12-04 restored",
            {("update", "")},
        ),
        (
            "weekly/berlin-no-end",
            lambda r: dataclasses.replace(r, overrides=()),
            "occurrence on Tue 2027-01-05 restored to the series",
            {("update", "2027-01-05")},
        ),
        (
            "monthly/day-31",
            lambda r: dataclasses.replace(r, skip=(date(2027, 2, 28),)),
            "occurrence on Sun 2027-02-28 cancelled",
            {("cancellation", "2027-02-28")},
        ),
    ],
    ids=["skip-removed", "override-removed", "skip-added"],
)
def test_editing_occurrences_converges_and_the_calendar_follows(
    backend: Backend, meeting_id: str, edit: Any, effect: str, mail: set[tuple[str, str]]
) -> None:
    meetings = corpus(backend.name)
    converge(backend, meetings)
    edited = _edit(meetings, meeting_id, recurrence=edit(_recurrence(meetings, meeting_id)))
    plan, sent = converge(backend, edited)
    (change,) = plan.changes
    assert change.meeting_id == meeting_id
    assert effect in [word_effect(e) for e in change.effects]
    (target,) = [m for m in edited if m.id == meeting_id]
    assert sent == Counter({(p, kind, meeting_id, day): 1 for p in target.attendees for kind, day in mail})
    assert_calendar_matches(backend, edited)


def test_moving_a_series_with_changed_occurrences_drops_and_reapplies_them(backend: Backend) -> None:
    meetings = corpus(backend.name)
    converge(backend, meetings)
    target = "weekly/two-days-every-2-weeks"
    (original,) = [m for m in meetings if m.id == target]
    assert isinstance(original.start, datetime) and isinstance(original.end, datetime)
    moved = _edit(meetings, target, start=original.start + timedelta(hours=1), end=original.end + timedelta(hours=1))
    plan, sent = converge(backend, moved)
    (change,) = plan.changes
    assert SeriesRewritten(cancelled=1, changed=1, total=2) in change.effects, change.effects
    assert OccurrenceCancelled("2026-12-17", again=True) in change.effects
    people = set(original.attendees)
    assert {k for k in sent if k[3] == ""} == {(p, "update", target, "") for p in people}
    assert {k for k in sent if k[3] == "2026-12-17"} == {(p, "cancellation", target, "2026-12-17") for p in people}
    assert_calendar_matches(backend, moved)


def test_a_lost_answer_in_the_middle_of_a_series_update_converges_without_mail_sent_twice(backend: Backend) -> None:
    meetings = corpus(backend.name)
    converge(backend, meetings)
    target = "monthly/day-31"
    edited = _edit(
        meetings,
        target,
        subject="Month-end close",
        recurrence=dataclasses.replace(_recurrence(meetings, target), skip=(date(2027, 2, 28),)),
    )
    assert backend.lose_next_answer is not None
    backend.lose_next_answer("update")  # the master write commits, its answer is lost
    _, sent = converge(backend, edited)
    (target_meeting,) = [m for m in edited if m.id == target]
    assert sent == Counter(
        {(p, "update", target, ""): 1 for p in target_meeting.attendees}
        | {(p, "cancellation", target, "2027-02-28"): 1 for p in target_meeting.attendees}
    )
