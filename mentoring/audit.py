"""The audit trail: one ``AuditEvent`` per read of a case record, change, or refused access.

Called from services and fetch-and-check selectors, inside the request's transaction, so the
row commits or rolls back with the work it describes. No personal values are written.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext as _

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
    event = _event(
        user=user,
        action=action,
        object_type=object_type,
        object_id=object_id,
        programme_id=programme_id,
        request=request,
    )
    event.save(force_insert=True)
    return event


def _event(
    *, user: User | None, action: str, object_type: str, object_id, programme_id, request
) -> AuditEvent:
    authenticated = user is not None and user.is_authenticated
    return AuditEvent(
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


def _insert_columns(obj: models.Model) -> tuple[list[str], list]:
    fields = [f for f in obj._meta.concrete_fields if not f.primary_key]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    return columns, values


def create_audited(
    obj: models.Model,
    *,
    user: User | None,
    programme_id: int | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Insert the new ``obj`` and its "create" audit row, both or neither.

    On PostgreSQL this is one statement (the audit row is inserted from the new row's id in a
    data-modifying ``WITH``), so a write a mentor makes from a phone costs one round trip to the
    database instead of four (begin, two inserts, commit); elsewhere, two inserts in a
    transaction. A unique constraint violated by ``obj`` raises ``IntegrityError`` as
    ``save()`` would, with nothing written."""
    event = _event(
        user=user,
        action=AuditEvent.Action.CREATE,
        object_type=obj._meta.label,
        object_id="",
        programme_id=programme_id or getattr(obj, "programme_id", None),
        request=request,
    )
    if connection.vendor != "postgresql":
        with transaction.atomic():
            obj.save(force_insert=True)
            event.object_id = str(obj.pk)
            event.save(force_insert=True)
        return
    columns, values = _insert_columns(obj)
    event_columns, event_values = _insert_columns(event)
    object_id = event_columns.index(connection.ops.quote_name("object_id"))
    event_select = ["%s"] * len(event_columns)
    event_select[object_id] = "new_row.id::text"
    del event_values[object_id]
    pk = obj._meta.pk
    # Table and column names come from the models' metadata; every value is bound.
    sql = (
        f"WITH new_row AS (INSERT INTO {connection.ops.quote_name(obj._meta.db_table)} "  # noqa: S608  # nosec B608
        f"({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(values))}) "
        f"RETURNING {connection.ops.quote_name(pk.column)} AS id) "
        f"INSERT INTO {connection.ops.quote_name(AuditEvent._meta.db_table)} ({', '.join(event_columns)}) "
        f"SELECT {', '.join(event_select)} FROM new_row RETURNING object_id"
    )
    # Inside a transaction, a savepoint keeps a refused insert from spoiling the caller's work.
    with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, [*values, *event_values])
        new_id = cursor.fetchone()[0]
    obj.pk = pk.to_python(new_id)
    obj._state.adding = False
    obj._state.db = connection.alias


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
        raise NotFound(_("%(name)s not found.") % {"name": capfirst(model._meta.verbose_name)}) from exc
    if audit_read:
        audit_record(
            user=user,
            action=AuditEvent.Action.READ,
            obj=obj,
            programme_id=programme_id_of(obj) if programme_id_of else None,
            request=request,
        )
    return obj
