"""REST endpoints of what happens inside a match, one module per resource."""

from sessions.api.logs import SessionLogViewSet

__all__ = ["SessionLogViewSet"]
