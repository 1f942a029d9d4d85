"""Template context shared by every page: the signed-in user's unread notifications count,
shown beside "Inbox" in the navigation (one query, only for signed-in users)."""

from __future__ import annotations

from django.http import HttpRequest

from sessions.selectors.concerns import notification_unread_count


def inbox(request: HttpRequest) -> dict[str, int]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread_count": notification_unread_count(user=user)}
