"""Online (Teams) meetings as Exchange makes them: join information and the join block in the body.

When an event becomes an online meeting with `teamsForBusiness` (created with `isOnlineMeeting:
true`, or PATCHed to it), Exchange Online creates the Teams meeting, returns its join information
in `onlineMeeting` ({joinUrl, conferenceId, tollNumber}) and appends a join block to the body: two
rules of 80 underscores around a `me-email-text` div with the "Join Microsoft Teams Meeting"
headline link, a toll number, the conference id and the "Local numbers | Reset PIN | Learn more
about Teams | Meeting options" links (tests/wire/real/graph/create-online-meeting-teams.json and
update-enable-online-meeting.json, both from the Outlook online-meetings documentation page).

The block is appended once; a later body written by a client is stored as written, so a client
that drops the block loses it, as documented for Exchange (removing it takes the join details out
of the invitation). A text body becomes HTML to carry the block [INFER: the documented samples
were HTML already]. The ids inside the join URL are random per meeting, the toll number is the
documentation's placeholder [INFER].
"""

from __future__ import annotations

import base64
import html
import random
import uuid
from collections.abc import Mapping
from typing import Any

_RULE = (
    '<div style="width:100%; height:20px"><span style="white-space:nowrap; color:gray; opacity:.36">'
    + "_" * 80
    + "</span>\r\n</div>\r\n"
)
_LINK = 'target="_blank" rel="noreferrer noopener" style="font-size:12px; text-decoration:none; color:#6264a7"'
_TOLL_NUMBER = "+1 323-555-0166"
_TENANT = "98a79ebe-74bf-4e07-a017-7b410848cb32"


def new_meeting(organizer_oid: str) -> dict[str, str]:
    """Join information for a new Teams meeting organized by the user with object id `organizer_oid`."""
    thread = base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("=")
    context = f"%7b%22Tid%22%3a%22{_TENANT}%22%2c%22Oid%22%3a%22{organizer_oid}%22%7d"
    return {
        "join_url": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0?context={context}",
        "conference_id": f"{random.randrange(10**8, 10**9)}",
        "toll_number": _TOLL_NUMBER,
        "thread": thread,
        "organizer_oid": organizer_oid,
    }


def join_block(meeting: Mapping[str, str]) -> str:
    """The join block Exchange appends to an online meeting's HTML body."""
    conference = meeting["conference_id"]
    spaced = f"{conference[:3]} {conference[3:6]} {conference[6:]}"
    options = (
        f"https://teams.microsoft.com/meetingOptions/?organizerId={meeting['organizer_oid']}&amp;tenantId={_TENANT}"
        f"&amp;threadId=19_meeting_{meeting['thread']}@thread.v2&amp;messageId=0&amp;language=en-US"
    )
    return (
        _RULE + "<div class=\"me-email-text\" style=\"color:#252424; font-family:'Segoe UI','Helvetica Neue',"
        'Helvetica,Arial,sans-serif">\r\n'
        f'<div style="margin-top:24px; margin-bottom:10px"><a class="me-email-headline" href="{meeting["join_url"]}" '
        'target="_blank" rel="noreferrer noopener" style="font-size:18px; font-family:\'Segoe UI Semibold\','
        "'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif; text-decoration:underline; color:#6264a7\">Join\r\n"
        " Microsoft Teams Meeting</a> </div>\r\n<div>\r\n"
        f'<div><a class="me-email-link" href="tel:{html.escape(meeting["toll_number"])},,{conference}# " {_LINK}>'
        f"{html.escape(meeting['toll_number'])}</a>\r\n"
        '<span style="font-size:12px">&nbsp; United States, Los Angeles (Toll) </span></div>\r\n</div>\r\n'
        '<div style="margin-top:10px; margin-bottom:20px"><span style="font-size:12px">Conference ID:\r\n'
        f'</span><span style="font-size:14px">{spaced}# </span></div>\r\n'
        '<div style="margin-bottom:24px">'
        f'<a class="me-email-link" href="https://dialin.teams.microsoft.com/?id={conference}" {_LINK}>Local\r\n'
        f' numbers</a> | <a class="me-email-link" href="https://mysettings.lync.com/pstnconferencing" {_LINK}>\r\n'
        f'Reset PIN</a> | <a class="me-email-link" href="https://aka.ms/JoinTeamsMeeting" {_LINK}>\r\n'
        f'Learn more about Teams</a> | <a class="me-email-link" href="{options}" {_LINK}>\r\n'
        "Meeting options</a> </div>\r\n"
        '<div style="font-size:14px; margin-bottom:4px"></div>\r\n<div style="font-size:12px"></div>\r\n</div>\r\n'
        + _RULE
    )


def with_join_block(body: Mapping[str, Any] | None, meeting: Mapping[str, str]) -> dict[str, str]:
    """A stored body (`{"type", "content"}`) with the meeting's join block appended, as HTML."""
    body = body or {"type": "text", "content": ""}
    content = str(body.get("content") or "")
    if body.get("type") != "html":
        content = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    block = join_block(meeting)
    end = content.lower().rfind("</body>")
    if end >= 0:  # a whole document: the block goes at the end of its body
        return {"type": "html", "content": f"{content[:end]}{block}{content[end:]}"}
    return {"type": "html", "content": f"{content}\r\n{block}" if content else block}


def online_meeting_json(meeting: Mapping[str, str]) -> dict[str, str]:
    """`onlineMeeting` as Graph returns it (onlineMeetingInfo, the properties the samples show)."""
    return {
        "joinUrl": meeting["join_url"],
        "conferenceId": meeting["conference_id"],
        "tollNumber": meeting["toll_number"],
    }
