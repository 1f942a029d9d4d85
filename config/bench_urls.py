"""The URLconf of ``config.settings.bench`` only: Tandem's URLs plus the bare endpoint that
``python -m sessions.bench`` compares the session-log endpoint with.

``POST /bench/bare-session-log/`` authenticates as every API endpoint does (DRF's configured
authentication, signed-in users only) and then only inserts the row: no validation, no rules,
no audit, no response body beyond the id. It is the floor a session-log write can't go below
on this stack, and must never be routed outside the benchmark.
"""

from django.urls import path
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as tandem_urlpatterns
from sessions.models import SessionLog


class BareSessionLogView(APIView):
    schema = None  # not part of the API

    def post(self, request):
        data = request.data
        log = SessionLog.objects.create(
            match_id=data["match"],
            author=request.user,
            held_on=data["held_on"],
            duration_minutes=data["duration_minutes"],
            mode=data["mode"],
            participants=data["participants"],
            topics=data.get("topics", []),
            language=data["language"],
            interpreter_used=data.get("interpreter_used", False),
            notes=data.get("notes", ""),
            follow_ups=data.get("follow_ups", ""),
            idempotency_key=data.get("idempotency_key"),
        )
        return Response({"id": log.pk}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("bench/bare-session-log/", BareSessionLogView.as_view(), name="bench-bare-session-log"),
    *tandem_urlpatterns,
]
