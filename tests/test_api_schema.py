"""The OpenAPI schema: valid, warning-free, and listing every endpoint with its error shape."""

import pytest
import yaml
from django.core.management import call_command

EXPECTED_OPERATIONS = {
    ("/api/v1/programmes/", "get"),
    ("/api/v1/programmes/{id}/", "get"),
    ("/api/v1/mentees/", "get"),
    ("/api/v1/mentees/{id}/", "get"),
    ("/api/v1/mentees/{mentee_id}/suggestions/", "get"),
    ("/api/v1/mentees/{mentee_id}/suggestions/{mentor_id}/", "get"),
    ("/api/v1/mentors/{mentor_id}/suggestions/", "get"),
    ("/api/v1/people/{person_id}/data-export/", "get"),
    ("/api/v1/people/{person_id}/erase/", "post"),
    ("/api/v1/mentors/", "get"),
    ("/api/v1/mentors/", "post"),
    ("/api/v1/mentors/{id}/", "get"),
    ("/api/v1/mentors/{id}/start-screening/", "post"),
    ("/api/v1/mentors/{id}/record-interview/", "post"),
    ("/api/v1/mentors/{id}/references/", "post"),
    ("/api/v1/mentors/{id}/record-check/", "post"),
    ("/api/v1/mentors/{id}/start-training/", "post"),
    ("/api/v1/mentors/{id}/training-records/", "post"),
    ("/api/v1/mentors/{id}/self-assessments/", "post"),
    ("/api/v1/mentors/{id}/approve/", "post"),
    ("/api/v1/mentors/{id}/deactivate/", "post"),
    ("/api/v1/mentors/{id}/reactivate/", "post"),
    ("/api/v1/mentors/{id}/withdraw/", "post"),
    ("/api/v1/mentees/{id}/start-intake/", "post"),
    ("/api/v1/mentees/{id}/complete-intake/", "post"),
    ("/api/v1/mentees/{id}/close/", "post"),
    ("/api/v1/families/", "get"),
    ("/api/v1/families/", "post"),
    ("/api/v1/families/{id}/", "get"),
    ("/api/v1/consents/", "get"),
    ("/api/v1/consents/", "post"),
    ("/api/v1/consents/{id}/withdraw/", "post"),
    ("/api/v1/cultural-backgrounds/", "get"),
    ("/api/v1/needs/", "get"),
    ("/api/v1/self-assessment-questions/", "get"),
    ("/api/v1/matches/", "get"),
    ("/api/v1/matches/", "post"),
    ("/api/v1/matches/{id}/", "get"),
    ("/api/v1/session-logs/", "get"),
    ("/api/v1/session-logs/", "post"),
    ("/api/v1/session-logs/{id}/", "get"),
    ("/api/v1/session-logs/{id}/", "patch"),
    ("/api/v1/session-logs/{id}/history/", "get"),
    ("/api/v1/concerns/", "get"),
    ("/api/v1/concerns/", "post"),
    ("/api/v1/concerns/{id}/", "get"),
    ("/api/v1/concerns/{id}/acknowledge/", "post"),
    ("/api/v1/concerns/{id}/refer/", "post"),
    ("/api/v1/concerns/{id}/close/", "post"),
    ("/api/v1/notifications/", "get"),
    ("/api/v1/notifications/mark-read/", "post"),
    ("/api/v1/checkins/", "get"),
    ("/api/v1/checkins/{id}/", "get"),
    ("/api/v1/checkins/{id}/answer/", "post"),
    ("/api/v1/goals/", "get"),
    ("/api/v1/goals/", "post"),
    ("/api/v1/goals/{id}/", "get"),
    ("/api/v1/goals/{id}/progress/", "post"),
    ("/api/v1/outcome-instruments/", "get"),
    ("/api/v1/outcome-measures/", "get"),
    ("/api/v1/outcome-measures/", "post"),
    ("/api/v1/matches/{id}/close/", "post"),
    ("/api/v1/matches/{id}/accept/", "post"),
    ("/api/v1/batch-runs/", "get"),
    ("/api/v1/batch-runs/", "post"),
    ("/api/v1/batch-runs/{id}/", "get"),
    ("/api/v1/batch-runs/{id}/pairs/", "get"),
    ("/api/v1/batch-runs/{id}/unmatched/", "get"),
    ("/api/v1/batch-runs/{id}/recruitment-needs/", "get"),
    ("/api/v1/batch-runs/{id}/rerun/", "post"),
    ("/api/v1/batch-runs/{id}/accept/", "post"),
    ("/api/v1/matches/{id}/decline/", "post"),
    ("/api/v1/matches/{id}/pause/", "post"),
    ("/api/v1/matches/{id}/resume/", "post"),
    ("/api/v1/match-exclusions/", "get"),
    ("/api/v1/match-exclusions/", "post"),
    ("/api/v1/match-exclusions/{id}/", "get"),
    ("/api/v1/match-exclusions/{id}/", "delete"),
    ("/api/v1/programmes/{programme_id}/scoring/", "get"),
    ("/api/v1/programmes/{programme_id}/scoring/", "put"),
    ("/api/v1/attention-flags/", "get"),
    ("/api/v1/attention-flags/{id}/dismiss/", "post"),
    ("/api/v1/report-snapshots/", "get"),
    ("/api/v1/report-snapshots/", "post"),
    ("/api/v1/report-snapshots/{id}/", "get"),
    ("/api/v1/report-snapshots/{id}/figures/", "get"),
    ("/api/v1/report-snapshots/latest/", "get"),
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    # Raises (and so fails the test) on any warning or validation error, as CI does.
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(path))
    return yaml.safe_load(path.read_text())


def test_schema_lists_every_endpoint(schema):
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}

    assert operations == EXPECTED_OPERATIONS


def test_every_operation_documents_the_error_shape(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            forbidden = operation["responses"]["403"]["content"]["application/json"]["schema"]
            assert forbidden == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method)


def test_writes_document_their_success_status(schema):
    assert "201" in schema["paths"]["/api/v1/matches/"]["post"]["responses"]
    assert {"200", "201"} <= set(schema["paths"]["/api/v1/session-logs/"]["post"]["responses"])
    assert "202" in schema["paths"]["/api/v1/report-snapshots/"]["post"]["responses"]


def test_error_shape_is_a_component(schema):
    item = schema["components"]["schemas"]["ErrorItem"]

    assert set(item["properties"]) == {"field", "code", "message"}


def test_schema_is_served_to_signed_in_users(client_for, coordinator):
    response = client_for(coordinator).get("/api/v1/schema/")

    assert response.status_code == 200
