"""The audit trail: one ``AuditEvent`` per read of a case record, change, or refused access.

Called from services and fetch-and-check selectors, inside the request's transaction, so the
row commits or rolls back with the work it describes. No personal values are written.
"""

from __future__ import annotations

from django.db import models
from django.http import HttpRequest

from mentoring.models import AuditEvent, User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    user: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    programme_id: int | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = obj._meta.label
        object_id = obj.pk
        programme_id = programme_id or getattr(obj, "programme_id", None)
    authenticated = user is not None and user.is_authenticated
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        # No user at all: a command or scheduled job; an anonymous visitor has a user object.
        role=user.role if authenticated else ("system" if user is None else "anonymous"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        programme_id=programme_id,
        ip_address=client_ip(request),
        path=(request.path[:300] if request is not None else ""),
    )


def audited_get(
    queryset: models.QuerySet,
    *,
    pk: int | str,
    user: User,
    request: HttpRequest | None = None,
    audit_read: bool = True,
    programme_id_of=None,
):
    """Fetch one record from what the user may see. A record outside it (another programme's,
    another mentor's, or none at all) is not found, and the refusal is audited; a read of the
    case record is audited too. Every ``*_get_for_user`` selector asks through this."""
    from mentoring.errors import NotFound

    model = queryset.model
    try:
        obj = queryset.get(pk=pk)
    except model.DoesNotExist as exc:
        audit_record(
            user=user,
            action=AuditEvent.Action.DENIED,
            object_type=model._meta.label,
            object_id=pk,
            request=request,
        )
        raise NotFound(f"{str(model._meta.verbose_name).capitalize()} not found.") from exc
    if audit_read:
        audit_record(
            user=user,
            action=AuditEvent.Action.READ,
            obj=obj,
            programme_id=programme_id_of(obj) if programme_id_of else None,
            request=request,
        )
    return obj
