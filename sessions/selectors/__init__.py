"""Reads of what happens inside a match, scoped to the asking user, one module per record."""

from sessions.selectors.logs import (
    session_log_editable_by,
    session_log_get_for_user,
    session_log_list_visible_to,
    session_topics_for,
)

__all__ = [
    "session_log_editable_by",
    "session_log_get_for_user",
    "session_log_list_visible_to",
    "session_topics_for",
]
