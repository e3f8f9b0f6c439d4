"""The EWS SOAP emulator: the subset of Exchange Web Services that exchangelib sends for calendar
work, over the shared mailbox store. `ews_app` is the entry point; this package holds its parts:
`soap` (envelopes and error shapes), `items` (calendar items <-> store documents), `recurrence`,
`restriction` and `app` (the operations)."""
