"""The send budget: messages and recipients per organizer against the sending limits."""

from __future__ import annotations

from reconciler.budget import OversizedMessage, budget_errors, budget_warnings, send_budget
from reconciler.limits import SendLimits
from reconciler.model import Action, MailKind
from reconciler.notify import Notification
from reconciler.plan import Change
from reconciler.render.budget import about, human_lines
from reconciler.render.notices import word


def people(count: int, prefix: str = "p") -> tuple[str, ...]:
    return tuple(f"{prefix}{i}@contoso.com" for i in range(count))


def change(organizer: str, meeting_id: str, *notices: Notification) -> Change:
    return Change(Action.UPDATE, meeting_id, organizer, "Sync", notifications=notices)


def test_each_notification_is_one_message_and_each_of_its_recipients_counts_once_per_message() -> None:
    budget = send_budget(
        [
            change(
                "lead@contoso.com",
                "a",
                Notification(MailKind.UPDATE, people(3)),
                Notification(MailKind.INVITATION, people(1, "new")),
            ),
            change("lead@contoso.com", "b", Notification(MailKind.CANCELLATION, people(3), occurrence="2026-12-01")),
            change("ops@contoso.com", "c"),
        ],
        SendLimits(),
    )
    [lead] = budget.organizers
    assert (lead.organizer, lead.messages, lead.recipients) == ("lead@contoso.com", 3, 7)


def test_the_apply_time_is_the_message_count_at_the_message_rate() -> None:
    notices = [change("lead@contoso.com", f"m{i}", Notification(MailKind.INVITATION, people(15))) for i in range(412)]
    [lead] = send_budget(notices, SendLimits()).organizers
    assert lead.apply_seconds == 824
    assert human_lines(send_budget(notices, SendLimits())) == [
        "Mail from lead@contoso.com: 412 messages, 6,180 recipients (61% of the daily limit of 10,000);"
        " at 30 messages/min apply takes about 14 minutes."
    ]


def test_durations_read_as_a_person_says_them() -> None:
    assert [about(s) for s in (0, 59, 60, 89, 7199, 7200, 7260, 9000)] == [
        "under a minute",
        "under a minute",
        "about 1 minute",
        "about 1 minute",
        "about 2 hours",
        "about 2 hours",
        "about 2 hours 1 minute",
        "about 2 hours 30 minutes",
    ]


def test_a_mailbox_above_the_warning_share_of_the_daily_limit_is_a_warning_and_none_below() -> None:
    limits = SendLimits(recipients_per_day=100, warn_at_percent=80)
    near = send_budget([change("lead@contoso.com", "a", Notification(MailKind.INVITATION, people(81)))], limits)
    below = send_budget([change("lead@contoso.com", "a", Notification(MailKind.INVITATION, people(80)))], limits)
    assert tuple(word(w) for w in budget_warnings(near)) == (
        "lead@contoso.com: the plan sends mail to 81 recipients, 81% of limits.recipients_per_day (100); mail the"
        " mailbox sends otherwise today counts too, and past the limit Exchange blocks it from sending.",
    )
    assert budget_errors(near) == ()
    assert budget_warnings(below) == () and budget_errors(below) == ()


def test_a_mailbox_beyond_the_daily_limit_is_an_error_not_a_warning() -> None:
    limits = SendLimits(recipients_per_day=100, recipients_per_message=200)
    budget = send_budget([change("lead@contoso.com", "a", Notification(MailKind.INVITATION, people(101)))], limits)
    [error] = budget_errors(budget)
    assert word(error).startswith(
        "lead@contoso.com: the plan sends mail to 101 recipients, more than limits.recipients_per_day"
    )
    assert budget_warnings(budget) == ()


def test_a_message_over_the_per_message_limit_is_an_error_naming_the_meeting_and_occurrence() -> None:
    limits = SendLimits(recipients_per_message=4)
    budget = send_budget(
        [change("lead@contoso.com", "team/sync", Notification(MailKind.UPDATE, people(5), occurrence="2026-12-08"))],
        limits,
    )
    assert budget.organizers[0].oversized == (OversizedMessage("team/sync", MailKind.UPDATE, 5, "2026-12-08"),)
    assert tuple(word(e) for e in budget_errors(budget)) == (
        "team/sync: the update for the occurrence on 2026-12-08 from lead@contoso.com goes to 5 recipients, more"
        " than limits.recipients_per_message (4); Exchange refuses such a message. Invite a distribution group"
        " (it counts as one recipient) or split the attendees.",
    )
