"""The EWS SOAP emulator: the subset of Exchange Web Services that exchangelib sends for calendar
work, over the shared mailbox store. `app` is the entry point (`EwsApp`, `serve_ews`, `endpoint`)
and holds the operations; the other modules are its parts: `soap` (envelopes and error shapes),
`items` (calendar items <-> store documents), `recurrence` and `restriction`."""
