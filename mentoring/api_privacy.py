"""Data-subject rights over the API: ``GET /api/v1/people/{id}/data-export/`` (everything held
about one person) and ``POST /api/v1/people/{id}/erase/``.

Thin: ``mentoring.privacy`` decides who may (admins and the coordinators of the person's
programme; anyone else: not found) and audits each export and erasure.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import CoordinatesAProgramme, ErrorDocumentingAutoSchema
from mentoring.privacy import person_data_export, person_erase, person_get_for_privacy


class PersonDataRecordGroupSerializer(serializers.Serializer):
    title = serializers.CharField()
    rows = serializers.ListField(child=serializers.DictField())


class PersonDataExportSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    programme_id = serializers.IntegerField()
    erased_at = serializers.DateTimeField(allow_null=True)
    generated_at = serializers.DateTimeField()
    records = serializers.DictField(
        child=PersonDataRecordGroupSerializer(),
        help_text="One group per record type (model label): its title and its rows.",
    )


class PersonErasureSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, write_only=True)


class PersonErasureResultSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    deleted = serializers.DictField(child=serializers.IntegerField())
    anonymised = serializers.DictField(child=serializers.IntegerField())


class PersonDataExportView(APIView):
    permission_classes = [IsAuthenticated, CoordinatesAProgramme]
    schema = ErrorDocumentingAutoSchema()

    @extend_schema(responses=PersonDataExportSerializer, operation_id="people_data_export")
    def get(self, request, person_id: int) -> Response:
        person = person_get_for_privacy(user=request.user, person_id=person_id, request=request)
        export = person_data_export(person=person, requested_by=request.user, request=request)
        return Response(export, headers={"Cache-Control": "no-store"})


class PersonEraseView(APIView):
    permission_classes = [IsAuthenticated, CoordinatesAProgramme]
    schema = ErrorDocumentingAutoSchema()

    @extend_schema(
        request=PersonErasureSerializer,
        responses=PersonErasureResultSerializer,
        operation_id="people_erase",
    )
    def post(self, request, person_id: int) -> Response:
        person = person_get_for_privacy(user=request.user, person_id=person_id, request=request)
        serializer = PersonErasureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = person_erase(
            person=person, erased_by=request.user, reason=serializer.validated_data["reason"], request=request
        )
        return Response(
            {"person_id": result.person_id, "deleted": result.deleted, "anonymised": result.anonymised},
            status=status.HTTP_200_OK,
        )
