"""The sending limits of the organizers' mailboxes (`limits:` in reconciler.yaml), as one value.

Meeting mail (invitations, updates, cancellations) is sent by Exchange from the organizer's mailbox
and counts against that mailbox's sending limits. The defaults are Exchange Online's, from the
Exchange Online service description, "Exchange Online limits", section "Sending limits"
(https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits):
30 messages per minute (message rate limit), 10,000 recipients per day (recipient rate limit, a
rolling 24 hours) and 500 recipients per message. On-premises Exchange sets them per throttling
policy (`MessageRateLimit`, `RecipientRateLimit`, `MaxRecipientEnvelopeLimit`); configure them there.
See docs/reference/sending-limits.md for the sources and what is verified.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Exchange Online's message rate limit: messages one mailbox submits per minute.
EXCHANGE_ONLINE_MESSAGES_PER_MINUTE = 30
#: Exchange Online's recipient rate limit: recipients one mailbox sends to in 24 hours.
EXCHANGE_ONLINE_RECIPIENTS_PER_DAY = 10_000
#: Exchange Online's recipient limit of one message.
EXCHANGE_ONLINE_RECIPIENTS_PER_MESSAGE = 500


@dataclass(frozen=True)
class SendLimits:
    """What one organizer's mailbox may send, and the share of the daily limit a plan may use
    before it warns (`warn_at_percent`: a plan above it still applies, one above 100% does not)."""

    messages_per_minute: int = EXCHANGE_ONLINE_MESSAGES_PER_MINUTE
    recipients_per_day: int = EXCHANGE_ONLINE_RECIPIENTS_PER_DAY
    recipients_per_message: int = EXCHANGE_ONLINE_RECIPIENTS_PER_MESSAGE
    warn_at_percent: int = 80
