"""The input layer: meeting files -> validated `model.Meeting` values, or every problem located.

yamldoc    safe YAML composition with the position of every key and value
schema     JSON Schema validation (schemas/*.schema.json) as readable diagnostics
values     durations, addresses and message helpers shared with reconciler.config
files      which files under the meetings directory are read, and the links followed
meetings   the meeting rules and `load_meetings`
"""

from reconciler.loading.meetings import Loaded, load_meetings

__all__ = ["Loaded", "load_meetings"]
