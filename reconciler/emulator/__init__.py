"""A small, honest Exchange: one SQLite mailbox store and the wire protocols that serve it.

Nothing here imports from the rest of `reconciler`: the emulator stands in for a server and must
not share the client's types.
"""
