"""Work is never lost to the queue, and nothing personal travels through it: tasks carry ids
only, are recorded in the task outbox with the rows they are about, and a broker that is down
fails no request; the sweeper sends what it refused once the broker is back."""

from __future__ import annotations

import datetime
import inspect
import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import F
from kombu import Producer
from kombu.exceptions import OperationalError

from config.celery import app
from mentoring.models import TaskOutbox
from mentoring.outbox import NotAnId, enqueue_after_commit, outbox_sweep, task_args_clean
from mentoring.tasks_outbox import outbox_sweep_task
from reports.models import ReportSnapshot
from reports.tasks import snapshot_compute_task, snapshot_part_task
from sessions.models import SessionLog
from tests.factories import MatchFactory, MenteeFactory

PROJECT_MODULES = ("mentoring.", "matching.", "sessions.", "reports.", "config.")
# Task parameters that are not ids but may travel, each with why it holds nothing personal.
ALLOWED_PARAMETERS: dict[str, str] = {}
LONG_AGO = datetime.timedelta(minutes=5)


def _project_tasks() -> dict:
    app.loader.import_default_modules()  # what a worker imports: every app's tasks
    return {name: task for name, task in app.tasks.items() if name.startswith(PROJECT_MODULES)}


def _backdate_outbox() -> None:
    """As if the sweeper ran a while later (it leaves young rows to the request sending them)."""
    TaskOutbox.objects.update(created_at=F("created_at") - LONG_AGO)


# --- What may travel -------------------------------------------------------------------------


def test_every_project_task_takes_only_ids():
    tasks = _project_tasks()
    assert {
        "reports.tasks.snapshot_compute_task",
        "reports.tasks.snapshot_part_task",
        "sessions.tasks.match_health_task",
        "mentoring.tasks_outbox.outbox_sweep_task",
    } <= set(tasks)

    offending = {}
    for name, task in tasks.items():
        # A bound task's run is a bound method: its signature no longer shows ``self``.
        for parameter in inspect.signature(task.run).parameters.values():
            if parameter.name.endswith(("_id", "_ids")) or parameter.name in ALLOWED_PARAMETERS:
                continue
            offending.setdefault(name, []).append(parameter.name)
    assert offending == {}, "Tasks take ids only (names ending in _id/_ids)"


def test_every_project_task_is_acknowledged_late_and_requeued_when_its_worker_is_lost():
    for name, task in _project_tasks().items():
        assert task.acks_late, name
        assert task.reject_on_worker_lost or app.conf.task_reject_on_worker_lost, name
    assert app.conf.worker_prefetch_multiplier == 1


def test_a_task_is_killed_before_the_broker_would_hand_it_to_another_worker():
    visibility = settings.TANDEM_CELERY_VISIBILITY_TIMEOUT
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit < visibility
    if app.conf.broker_url.startswith("redis"):
        assert app.conf.broker_transport_options["visibility_timeout"] == visibility


@pytest.mark.parametrize(
    "args",
    [
        ("Iryna Shevchenko",),
        ("iryna.shevchenko@example.org",),
        (12, "Looked at the school's homework platform together."),
        ({"mentee_id": 12},),
        (1.5,),
        (True,),
        (None,),
        ([3, "Olena"],),
        ([[3]],),
    ],
)
def test_a_task_argument_that_is_not_an_id_is_refused_before_anything_is_written(db, args):
    with pytest.raises(NotAnId) as refused:
        enqueue_after_commit(snapshot_compute_task, *args)

    assert TaskOutbox.objects.count() == 0
    assert "Iryna" not in str(refused.value) and "Olena" not in str(refused.value)
    assert "@" not in str(refused.value) and "homework" not in str(refused.value)


def test_ids_may_be_integers_digit_strings_uuids_or_lists_of_them():
    key = uuid.uuid4()

    assert task_args_clean([7, "42", key, str(key).upper(), [1, 2]]) == [7, "42", str(key), str(key), [1, 2]]


# --- Sending on commit -----------------------------------------------------------------------


def test_a_task_is_sent_once_its_transaction_commits_and_marked_sent(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(snapshot_part_task, "apply_async", lambda args, **options: sent.append(tuple(args)))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        row = enqueue_after_commit(snapshot_part_task, 41)
        assert sent == []

    assert sent == [(41,)]
    row.refresh_from_db()
    assert (row.task_name, row.args) == ("reports.tasks.snapshot_part_task", [41])
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""


def test_a_task_of_a_transaction_rolled_back_is_neither_recorded_nor_sent(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(snapshot_part_task, "apply_async", lambda args, **options: sent.append(tuple(args)))

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        enqueue_after_commit(snapshot_part_task, 41)
        raise ZeroDivisionError

    assert sent == [] and TaskOutbox.objects.count() == 0


def test_a_broker_error_on_commit_leaves_the_task_to_the_sweeper(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(snapshot_part_task, "apply_async", refuse)

    with django_capture_on_commit_callbacks(execute=True):
        row = enqueue_after_commit(snapshot_part_task, 41)

    row.refresh_from_db()
    assert row.sent_at is None and row.attempts == 1
    assert row.last_error.startswith("OperationalError: Error 111")


# --- The sweeper -----------------------------------------------------------------------------


def _unsent(task, *args, **fields) -> TaskOutbox:
    return TaskOutbox.objects.create(task_name=task.name, args=list(args), **fields)


def test_the_sweeper_sends_unsent_tasks_oldest_first_and_leaves_young_ones(db, monkeypatch):
    sent = []
    monkeypatch.setattr(snapshot_part_task, "apply_async", lambda args, **options: sent.append(tuple(args)))
    now = datetime.datetime.now(datetime.UTC)
    newer = _unsent(snapshot_part_task, 2, created_at=now - datetime.timedelta(minutes=2), attempts=1)
    older = _unsent(snapshot_part_task, 1, created_at=now - datetime.timedelta(minutes=3), attempts=1)
    young = _unsent(snapshot_part_task, 3, created_at=now)

    assert outbox_sweep() == 2
    assert outbox_sweep() == 0

    assert sent == [(1,), (2,)]
    for row, attempts in ((older, 2), (newer, 2), (young, 0)):
        row.refresh_from_db()
        assert row.attempts == attempts
    assert older.sent_at and newer.sent_at and young.sent_at is None


def test_the_sweeper_stops_at_a_broker_error_and_skips_a_task_that_no_longer_exists(db, monkeypatch):
    long_ago = datetime.datetime.now(datetime.UTC) - LONG_AGO
    gone = TaskOutbox.objects.create(task_name="reports.tasks.renamed_task", args=[1], created_at=long_ago)
    first = _unsent(snapshot_part_task, 1, created_at=long_ago)
    second = _unsent(snapshot_part_task, 2, created_at=long_ago)

    def refuse(*args, **options):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(snapshot_part_task, "apply_async", refuse)

    assert outbox_sweep() == 0

    for row in (gone, first, second):
        row.refresh_from_db()
    assert (gone.attempts, gone.last_error) == (1, "NotRegistered")
    assert first.attempts == 1 and first.last_error.startswith("OperationalError")
    assert second.attempts == 0
    assert not any(row.sent_at for row in (gone, first, second))


def test_the_sweeper_forgets_tasks_finished_long_ago(db):
    now = datetime.datetime.now(datetime.UTC)
    long_ago = {"created_at": now - datetime.timedelta(days=9), "sent_at": now - datetime.timedelta(days=9)}
    _unsent(snapshot_part_task, 1, **long_ago, done_at=now - datetime.timedelta(days=8))
    recent = _unsent(snapshot_part_task, 2, sent_at=now, done_at=now)

    outbox_sweep(resend_after=datetime.timedelta(days=30))

    assert list(TaskOutbox.objects.all()) == [recent]


def test_the_sweeper_resends_a_sent_task_no_worker_finished_and_leaves_finished_ones(db, monkeypatch):
    """A broker that lost its queue (restarted without persistence, flushed) loses the sent
    messages too: what no worker finished in time is sent again (tasks are idempotent)."""
    sent = []
    monkeypatch.setattr(snapshot_part_task, "apply_async", lambda args, **options: sent.append(tuple(args)))
    now = datetime.datetime.now(datetime.UTC)
    hour_ago = now - datetime.timedelta(hours=1)
    lost = _unsent(snapshot_part_task, 1, created_at=hour_ago, sent_at=hour_ago, attempts=1)
    _unsent(snapshot_part_task, 2, created_at=hour_ago, sent_at=hour_ago, done_at=now, attempts=1)
    running = _unsent(snapshot_part_task, 3, created_at=now, sent_at=now, attempts=1)

    assert outbox_sweep(resend_after=datetime.timedelta(minutes=30)) == 1

    assert sent == [(1,)]
    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.attempts == 2 and lost.sent_at > hour_ago and lost.done_at is None
    assert running.attempts == 1


# --- End to end: the broker down, then back ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_requests_succeed_with_the_broker_down_and_the_sweeper_sends_their_work_once_it_is_back(
    celery_worker_live, monkeypatch, client_for, programme, mentor, manager
):
    match = MatchFactory(programme=programme, mentor=mentor)
    MenteeFactory.create_batch(2, programme=programme)

    def broker_down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(Producer, "publish", broker_down)

    logged = client_for(mentor.user).post(
        "/api/v1/session-logs/",
        {
            "match": match.pk,
            "held_on": (datetime.date.today() - datetime.timedelta(days=1)).isoformat(),
            "duration_minutes": 60,
            "mode": "in_person",
            "language": "uk",
            "participants": ["parent", "pupil"],
            "topics": ["homework"],
            "notes": "Looked at the school's homework platform together.",
        },
        format="json",
    )
    asked = client_for(manager).post("/api/v1/report-snapshots/", {"programme": programme.pk}, format="json")

    assert logged.status_code == 201, logged.content
    assert asked.status_code == 202, asked.content
    assert SessionLog.objects.filter(pk=logged.json()["id"], match=match).exists()
    snapshot = ReportSnapshot.objects.get(pk=asked.json()["id"])
    assert snapshot.status == ReportSnapshot.Status.PENDING
    row = TaskOutbox.objects.get()
    assert (row.task_name, row.args, row.sent_at, row.attempts) == (
        snapshot_compute_task.name,
        [snapshot.pk],
        None,
        1,
    )
    assert row.last_error.startswith("OperationalError")

    # The broker is back; the beat's next sweep sends the task, once, and a worker computes it.
    monkeypatch.undo()
    sends = []
    send = snapshot_compute_task.apply_async
    monkeypatch.setattr(
        snapshot_compute_task,
        "apply_async",
        lambda args, **options: sends.append(tuple(args)) or send(args, **options),
    )
    _backdate_outbox()

    assert outbox_sweep_task() == 1

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        snapshot.refresh_from_db()
        if snapshot.status not in ReportSnapshot.IN_FLIGHT:
            break
        time.sleep(0.2)
    assert snapshot.status == ReportSnapshot.Status.DONE, snapshot.error
    assert snapshot.figures["populations"]["mentees"]
    _backdate_outbox()
    assert outbox_sweep_task() == 0
    assert sends == [(snapshot.pk,)]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2
    # The snapshot's parts went through the outbox too, sent by the worker on commit.
    assert sorted(TaskOutbox.objects.values_list("task_name", flat=True)) == [
        snapshot_compute_task.name,
        snapshot_part_task.name,
        snapshot_part_task.name,
    ]
    assert not TaskOutbox.objects.filter(sent_at__isnull=True).exists()
    # The worker marked each task finished, so no sweep will send them again.
    deadline = time.monotonic() + 10
    while TaskOutbox.objects.filter(done_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not TaskOutbox.objects.filter(done_at__isnull=True).exists()
    assert outbox_sweep(resend_after=datetime.timedelta(0)) == 0
