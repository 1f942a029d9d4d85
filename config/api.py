"""API plumbing shared by every app: the one error shape, the scoped viewset base, and the
schema class that documents the errors.

Every error the API answers has one shape::

    {"errors": [{"field": <name or null>, "code": <code>, "message": <text>}]}

``field`` names the input field at fault, dotted for nested input (``participants.0``), and is
``null`` for errors about the request as a whole. Django's ``ValidationError`` (what services
raise) answers 400, ``PermissionDenied`` 403, ``mentoring.errors.NotFound`` and ``Http404`` 404,
and DRF's own exceptions their usual status. A record the user may not see answers "not found",
never "forbidden", so an id of another programme reveals nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback
from rest_framework.viewsets import GenericViewSet

from mentoring.errors import NotFound
from mentoring.permissions import coordinated_programmes

_NON_FIELD_KEYS = {NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY}


# --- The error shape -------------------------------------------------------------------------


MAX_ID = 2**63 - 1  # the largest id a database's bigint holds


def as_id(value) -> int | None:
    """``value`` as a record id when it is one: ASCII digits (``"²".isdigit()`` is true, yet
    not a number ``int`` reads) within a database id's range; else None."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text="The input field at fault, dotted when nested; null for the whole request."
    )
    code = serializers.CharField(help_text="A stable, machine-readable code, e.g. `required`, `not_found`.")
    message = serializers.CharField(help_text="What went wrong, in words a user can act on.")


class ErrorResponseSerializer(serializers.Serializer):
    errors = ErrorItemSerializer(many=True)


def _error(field: str | None, code: str | None, message: Any) -> dict:
    return {"field": field, "code": code or "invalid", "message": str(message)}


def _django_validation_errors(exc: DjangoValidationError) -> Iterator[dict]:
    groups = exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc.error_list)]
    for field, errors in groups:
        name = None if field in _NON_FIELD_KEYS else field
        for error in errors:
            message = error.message % error.params if error.params else error.message
            yield _error(name, error.code, message)


def _drf_errors(detail: Any, field: str | None = None) -> Iterator[dict]:
    """Flatten DRF's nested error detail: dicts by field name, lists of items by index."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = str(key)
            name = field if key in _NON_FIELD_KEYS else (f"{field}.{key}" if field else key)
            yield from _drf_errors(value, name)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                # One entry per item of a list input; valid items have an empty entry.
                yield from _drf_errors(item, f"{field}.{index}" if field else str(index))
            else:
                yield from _drf_errors(item, field)
    else:
        yield _error(field, getattr(detail, "code", None), detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every handled error answers in the one shape above;
    anything else is left to Django (a 500, logged)."""
    headers: dict[str, str] = {}
    if isinstance(exc, DjangoValidationError):
        status_code, errors = status.HTTP_400_BAD_REQUEST, list(_django_validation_errors(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or exceptions.PermissionDenied.default_detail
        status_code, errors = status.HTTP_403_FORBIDDEN, [_error(None, "permission_denied", message)]
    elif isinstance(exc, NotFound | Http404):
        message = str(exc) or exceptions.NotFound.default_detail
        status_code, errors = status.HTTP_404_NOT_FOUND, [_error(None, "not_found", message)]
    elif isinstance(exc, exceptions.APIException):
        status_code, errors = exc.status_code, list(_drf_errors(exc.detail))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        return None
    set_rollback()
    return Response({"errors": errors}, status=status_code, headers=headers)


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses every operation can answer.

    drf-spectacular has no public hook for responses shared by every operation, so this
    extends ``_get_response_bodies`` (as drf-standardized-errors does); explicit
    ``extend_schema(responses=...)`` entries win."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        filtered_list = self._is_list_view() and getattr(self.view, "filterset_class", None) is not None
        paginated_list = self._is_list_view() and getattr(self.view, "pagination_class", None) is not None
        errors: dict[str, str] = {}
        if self.method in ("POST", "PUT", "PATCH") or filtered_list:
            errors["400"] = "Invalid input: each error names its field."
        errors["403"] = "Not signed in, or the role may not do this."
        if self.method in ("POST", "PUT", "PATCH"):
            errors["415"] = "A body of a media type the operation does not read, or one that cannot be read."
        if "{" in self.path:
            errors["404"] = "No such record, or one the user may not see."
        elif paginated_list:
            errors["404"] = "No such page."
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorResponseSerializer, description=description), code
                )
        return responses


# --- Views and fields scoped by the selectors -----------------------------------------------


class ScopedViewSet(GenericViewSet):
    """A viewset whose rows come from a selector (``get_visible_queryset``) and whose single
    records come from the app's fetch-and-check selector (``get_object``), so a list can't
    show what a detail view would refuse, and every detail read is audited where the
    selector audits it."""

    model: type[Model]
    schema = ErrorDocumentingAutoSchema()

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to scope by
            return self.model._default_manager.none()
        return self.get_visible_queryset()

    def get_visible_queryset(self) -> QuerySet:
        raise NotImplementedError

    @property
    def object_id(self) -> int:
        """The record's id from the URL; anything but a whole number is simply not found."""
        value = as_id(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        if value is None:
            raise NotFound(_("%(name)s not found.") % {"name": capfirst(self.model._meta.verbose_name)})
        return value


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """Filter on a related record's id: a whole number that fits a database id, else 400
    (``NumberFilter`` takes 1.5; an unbounded number overflows the database's integer)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class VisiblePrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """The id of a record the requesting user may see, looked up through a selector
    (``visible_to(user=...)``); any other id is "not found" and reveals nothing."""

    default_error_messages = {
        # Translators: {label} names a kind of record, e.g. "Mentor" (DRF fills it in).
        "not_found": gettext_lazy("{label} not found."),
        "incorrect_type": gettext_lazy("Give the id as a whole number."),
    }

    def __init__(self, *, model: type[Model], visible_to: Callable[..., QuerySet], **kwargs) -> None:
        self.model = model
        self.visible_to = visible_to
        # The schema reads the id's type from this queryset; requests use ``get_queryset``.
        kwargs.setdefault("queryset", model._default_manager.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return self.visible_to(user=self.context["request"].user)

    def to_internal_value(self, data: Any) -> Model:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type")
        try:
            return self.get_queryset().get(pk=int(data))
        except ValueError:
            self.fail("incorrect_type")
        except ObjectDoesNotExist:
            self.fail("not_found", label=str(capfirst(self.model._meta.verbose_name)))


class CoordinatesAProgramme(BasePermission):
    """Coordinators (of at least one programme) and admins; the record-level rule (which
    programme) is applied by the selectors that look up the records."""

    message = gettext_lazy("Only coordinators and administrators can do this.")

    def has_permission(self, request, view) -> bool:
        return request.user.is_admin or coordinated_programmes(user=request.user).exists()
