"""Helpers of the trust harness (authorization matrix, fuzzing): what the URL resolver serves."""

from __future__ import annotations

from django.urls import URLResolver, get_resolver

from tests.mentoring.test_permission_matrix import _patterns

# Served by drf-spectacular about the API itself, not about any record.
SCHEMA_VIEWS = {"api-schema", "api-docs"}


def _view_class(pattern):
    return getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)


def api_operations() -> set[tuple[str, str, str]]:
    """(URL name, HTTP method, view module) of every operation under ``/api/v1/``."""
    operations = set()
    for route, pattern in _patterns(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or pattern.name in SCHEMA_VIEWS:
            continue
        view = _view_class(pattern)
        actions = getattr(pattern.callback, "actions", None)
        methods = actions if actions is not None else [m for m in view.http_method_names if hasattr(view, m)]
        operations |= {
            (pattern.name, method, view.__module__) for method in methods if method not in ("head", "options")
        }
    return operations


def _named(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), namespace + (pattern.name or "")


def page_names() -> set[str]:
    """The namespaced URL name of every server-rendered page (neither the API nor the admin)."""
    return {
        name
        for route, name in _named(get_resolver().url_patterns)
        if not route.startswith(("api/", "admin/"))
    }
