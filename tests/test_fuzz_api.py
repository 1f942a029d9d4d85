"""Fuzzing the API against its own OpenAPI schema (schemathesis), once per role.

Every operation of ``/api/v1/schema/`` is called with generated paths, queries and bodies, through
Django's WSGI application, with the token of each kind of user of a small seeded programme.
Checks: no server error, every response conforms to the schema (status code and body), and no
request without valid credentials is answered with anything but 401/403.

``TANDEM_FUZZ_EXAMPLES`` sets the generated examples per operation and role: 10 by default (a
short local run, about a minute and a half), 100 in CI
(``TANDEM_FUZZ_EXAMPLES=100 .venv/bin/pytest tests/test_fuzz_api.py``), which also turns on
schemathesis' coverage phase (boundary and invalid values of every parameter;
``TANDEM_FUZZ_COVERAGE=0/1`` overrides). ``TANDEM_FUZZ_DERANDOMIZE=1`` makes a run repeatable.
Generated ids rarely name a seeded record, so most record requests answer 404: who may read
which record is ``tests/test_authorization_matrix.py``'s job; this file is about robustness.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import (
    AdminFactory,
    ConcernFactory,
    CoordinatorFactory,
    ManagerFactory,
    MatchFactory,
    MenteeFactory,
    ProgrammeFactory,
    SessionLogFactory,
)

MAX_EXAMPLES = int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "10"))
COVERAGE_PHASE = os.environ.get("TANDEM_FUZZ_COVERAGE", "1" if MAX_EXAMPLES >= 100 else "0") == "1"
ROLES = ("admin", "coordinator", "other_coordinator", "manager", "mentor")
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # no example database on disk: every run starts from the schema alone
    derandomize=os.environ.get("TANDEM_FUZZ_DERANDOMIZE") == "1",
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's WSGI handler closes the database connection when a request ends; within a test
    that is the test's own transaction. Django's test client disconnects the same handler for
    the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db):
    """A programme P with a match, a log, a concern and a waiting mentee, another programme Q,
    and one user of each role with an API token."""
    programme, other = ProgrammeFactory(), ProgrammeFactory()
    match = MatchFactory(programme=programme)
    SessionLogFactory(match=match)
    ConcernFactory(programme=programme, match=match)
    MenteeFactory(programme=programme)
    MatchFactory(programme=other)
    users = {
        "admin": AdminFactory(),
        "coordinator": CoordinatorFactory(programmes=[programme]),
        "other_coordinator": CoordinatorFactory(programmes=[other]),
        "manager": ManagerFactory(programmes=[programme]),
        "mentor": match.mentor.user,
    }
    return {role: Token.objects.create(user=user).key for role, user in users.items()}


def _load_schema():
    """The schema ``/api/v1/schema/`` serves, generated in process (no request, no database, so
    it can be built at collection), called through Django's WSGI application."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    loaded.app = get_wsgi_application()
    # The coverage phase (boundary values of every parameter, regardless of max_examples) is
    # thorough and slow: CI runs it, a local run is generated examples only.
    loaded.config.phases.coverage.enabled = COVERAGE_PHASE
    return loaded


schema = _load_schema()


@pytest.fixture(params=ROLES)
def role(request) -> str:
    return request.param


@pytest.fixture(params=[None, "Token not-a-real-token", "Bearer x", "Basic YWRtaW46YWRtaW4="])
def credentials(request) -> str | None:
    return request.param


@schema.parametrize()
@FUZZ_SETTINGS
def test_each_role_gets_no_server_error_and_schema_conforming_answers(case, role, fuzz_world):
    case.call_and_validate(headers={"Authorization": f"Token {fuzz_world[role]}"}, checks=CHECKS)


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(MAX_EXAMPLES // 5, 2))
def test_no_request_without_valid_credentials_gets_through(case, credentials, fuzz_world):
    headers = {"Authorization": credentials} if credentials else {}
    response = case.call(headers=headers)
    try:
        resolve(case.formatted_path)
    except Resolver404:
        # A path no view serves (``/mentors/0.5/``) is 404 before anyone is asked who they are.
        assert response.status_code == 404, (case.method, case.formatted_path, response.status_code)
        return
    assert response.status_code in (401, 403), (case.method, case.formatted_path, response.status_code)


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_served_one(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)

    served = client.get("/api/v1/schema/", {"format": "json"})

    assert served.status_code == 200
    assert set(json.loads(served.content)["paths"]) == set(schema.raw_schema["paths"])
