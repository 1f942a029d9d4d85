"""Writes of what happens inside a match, one module per record: ``logs`` (session logs),
``outcomes`` (outcome measures), ``concerns``, ``checkins``, ``goals``, ``notifications``,
``health`` (the match-health job). Import from the module that owns the record."""

from sessions.services.logs import session_log_create, session_log_update
from sessions.services.outcomes import outcome_measure_record

__all__ = ["outcome_measure_record", "session_log_create", "session_log_update"]
