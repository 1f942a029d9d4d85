"""Snapshot tasks: split into one part per population, joined in the database, assembled
exactly once, safe when a message is delivered twice, failed without personal data."""

import pytest

from config.celery import app
from reports import figures as contract
from reports import services, tasks
from reports.models import ReportSnapshot, ReportSnapshotPart
from reports.services import snapshot_request, snapshot_request_multi, snapshot_start
from tests.factories import MatchFactory, MenteeFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Tasks run in this process as they are sent (as with CELERY_TASK_ALWAYS_EAGER)."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def spies(monkeypatch):
    """Counts of the parts computed and of the assemblies, around the real functions."""
    calls = {"parts": [], "assemblies": 0}
    compute, assemble = services._compute_population, services._assemble

    def compute_spy(*, snapshot, population):
        calls["parts"].append(population)
        return compute(snapshot=snapshot, population=population)

    def assemble_spy(snapshot):
        calls["assemblies"] += 1
        return assemble(snapshot)

    monkeypatch.setattr(services, "_compute_population", compute_spy)
    monkeypatch.setattr(services, "_assemble", assemble_spy)
    return calls


def _programme():
    programme = ProgrammeFactory(small_cell_k=5)
    MatchFactory.create_batch(3, programme=programme)
    MenteeFactory.create_batch(4, programme=programme)
    return programme


def test_a_requested_snapshot_runs_as_one_task_per_population_then_assembles(
    eager, spies, django_capture_on_commit_callbacks
):
    programme = _programme()

    with django_capture_on_commit_callbacks(execute=True):
        snapshot, created = snapshot_request(programme=programme, requested_by=None)

    snapshot.refresh_from_db()
    assert created and snapshot.status == ReportSnapshot.Status.DONE, snapshot.error
    assert sorted(spies["parts"]) == ["mentees", "mentors"]
    assert spies["assemblies"] == 1
    parts = list(snapshot.parts.all())
    assert {part.population for part in parts} == {"mentees", "mentors"}
    assert all(
        part.status == ReportSnapshotPart.Status.DONE and part.duration_ms is not None for part in parts
    )
    assert snapshot.progress == 100
    assert snapshot.figures["version"] == contract.VERSION
    assert set(snapshot.figures["populations"]) == {"mentees", "mentors"}
    assert snapshot.data_as_of <= snapshot.generated_at
    assert snapshot.duration_ms is not None


def test_each_part_task_enqueued_once_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)
    sent = []
    monkeypatch.setattr(tasks.snapshot_part_task, "apply_async", lambda args, **options: sent.extend(args))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.snapshot_compute_task(snapshot.pk)

    assert sorted(sent) == sorted(snapshot.parts.values_list("pk", flat=True))
    assert len(sent) == 2
    snapshot.refresh_from_db()
    assert snapshot.status == ReportSnapshot.Status.RUNNING
    assert snapshot.progress == services.PROGRESS_STARTED
    assert snapshot.data_as_of is not None


def test_a_start_delivered_twice_makes_no_second_set_of_parts():
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)

    first = snapshot_start(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    as_of = snapshot.data_as_of
    second = snapshot_start(snapshot_id=snapshot.pk)

    assert first == second and len(first) == 2
    assert ReportSnapshotPart.objects.filter(snapshot=snapshot).count() == 2
    snapshot.refresh_from_db()
    assert snapshot.data_as_of == as_of


def test_parts_delivered_twice_are_computed_once_and_assembled_once(spies):
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)
    mentees, mentors = snapshot_start(snapshot_id=snapshot.pk)

    tasks.snapshot_part_task(mentees)
    tasks.snapshot_part_task(mentees)
    snapshot.refresh_from_db()
    assert snapshot.status == ReportSnapshot.Status.RUNNING
    assert snapshot.progress == services.PROGRESS_STARTED + services.PROGRESS_PARTS // 2
    assert spies["parts"] == ["mentees"]

    tasks.snapshot_part_task(mentors)
    snapshot.refresh_from_db()
    figures, generated_at = snapshot.figures, snapshot.generated_at
    tasks.snapshot_part_task(mentors)
    tasks.snapshot_part_task(mentees)

    snapshot.refresh_from_db()
    assert spies["parts"] == ["mentees", "mentors"]
    assert spies["assemblies"] == 1
    assert snapshot.status == ReportSnapshot.Status.DONE and snapshot.progress == 100
    assert snapshot.figures == figures and snapshot.generated_at == generated_at
    # The parts' results moved into the figures; the parts keep their timings.
    assert list(snapshot.parts.values_list("result", flat=True)) == [{}, {}]


def test_a_part_done_before_its_run_stopped_short_of_assembly_still_assembles(spies):
    """A worker finished the last part, then died before assembling (its message is delivered
    again): the repeat sees the part done and assembles without computing it again."""
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)
    mentees, mentors = snapshot_start(snapshot_id=snapshot.pk)
    tasks.snapshot_part_task(mentees)
    # The mentors' part as the dead worker left it (its result: the mentees' one stands in).
    ReportSnapshotPart.objects.filter(pk=mentors).update(
        status=ReportSnapshotPart.Status.DONE, result=ReportSnapshotPart.objects.get(pk=mentees).result
    )

    tasks.snapshot_part_task(mentors)

    snapshot.refresh_from_db()
    assert snapshot.status == ReportSnapshot.Status.DONE
    assert spies["parts"] == ["mentees"] and spies["assemblies"] == 1


def test_a_failing_part_fails_the_snapshot_with_the_error_type_only(monkeypatch):
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)
    mentees, mentors = snapshot_start(snapshot_id=snapshot.pk)

    def broken(*, snapshot, population):
        raise ValueError("Iryna Shevchenko, born 1990-04-02, has no intake date")

    monkeypatch.setattr(services, "_compute_population", broken)

    with pytest.raises(ValueError):
        tasks.snapshot_part_task(mentees)

    snapshot.refresh_from_db()
    assert snapshot.status == ReportSnapshot.Status.FAILED
    assert snapshot.error == "ValueError"
    part = ReportSnapshotPart.objects.get(pk=mentees)
    assert (part.status, part.error) == (ReportSnapshotPart.Status.FAILED, "ValueError")
    # The other part's message is still delivered: it does nothing to a failed snapshot.
    monkeypatch.undo()
    tasks.snapshot_part_task(mentors)
    snapshot.refresh_from_db()
    assert snapshot.status == ReportSnapshot.Status.FAILED and snapshot.figures == {}
    # The slot is free again: the next request makes a new snapshot.
    fresh, created = snapshot_request(programme=snapshot.programme, requested_by=None)
    assert created and fresh.pk != snapshot.pk


def test_a_failure_while_starting_fails_the_snapshot(monkeypatch):
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)

    def broken(*, snapshot_id):
        raise KeyError("period_start")

    monkeypatch.setattr(services, "snapshot_dispatch", broken)

    with pytest.raises(KeyError):
        tasks.snapshot_compute_task(snapshot.pk)

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.error) == (ReportSnapshot.Status.FAILED, "KeyError")


def test_a_snapshot_computed_in_process_fails_the_same_way(monkeypatch):
    snapshot, _ = snapshot_request(programme=_programme(), requested_by=None)

    def broken(*, snapshot, population):
        raise ZeroDivisionError

    monkeypatch.setattr(services, "_compute_population", broken)

    with pytest.raises(ZeroDivisionError):
        services.snapshot_compute(snapshot_id=snapshot.pk)

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.error) == (ReportSnapshot.Status.FAILED, "ZeroDivisionError")


def test_a_snapshot_of_several_programmes_computes_over_all_of_them(
    eager, monkeypatch, django_capture_on_commit_callbacks
):
    first, second = _programme(), ProgrammeFactory(small_cell_k=7)
    seen = []
    compute = services._compute_population

    def recording(*, snapshot, population):
        seen.append(services.snapshot_programme_ids(snapshot))
        return compute(snapshot=snapshot, population=population)

    monkeypatch.setattr(services, "_compute_population", recording)

    with django_capture_on_commit_callbacks(execute=True):
        snapshot, created = snapshot_request_multi(programmes=[second, first], requested_by=None)

    snapshot.refresh_from_db()
    assert created and snapshot.programme is None
    assert snapshot.status == ReportSnapshot.Status.DONE, snapshot.error
    assert set(snapshot.programmes.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert seen == [sorted([first.pk, second.pk])] * 2
    assert snapshot.small_cell_k == 7  # the strictest k of the programmes


def test_nightly_refresh_requests_one_snapshot_per_programme_and_joins_those_in_flight():
    first, second = ProgrammeFactory(), ProgrammeFactory()
    snapshot_request(programme=first, requested_by=None)

    assert services.snapshot_refresh_all() == 1
    tasks.snapshot_refresh_all_task()

    assert ReportSnapshot.objects.filter(programme=first).count() == 1
    assert ReportSnapshot.objects.filter(programme=second).count() == 1
