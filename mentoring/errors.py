"""The one project error class services raise besides ValidationError and PermissionDenied."""

from django.core.exceptions import ObjectDoesNotExist


class NotFound(ObjectDoesNotExist):
    """The record does not exist or the user may not know it exists (answered as 404)."""
