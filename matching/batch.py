"""Batch matching of a programme's waiting list: services and selectors of ``BatchRun``.

A coordinator asks for a run (``batch_run_create``); a Celery worker computes it
(``batch_run_compute``: the exact optimum of ``matching.optimize.solve`` over the scores of
``matching.engine``, with a greedy pass beside it for comparison); the coordinator reviews the
proposal, pins or forbids pairs and runs it again (``batch_run_rerun``), and accepts all or some
pairs (``batch_run_accept``), which become proposed matches through ``match_create``, the same
service as a single match.

Pins and forbids are stored on the run as ``[[mentee id, mentor id], …]``. A run reads the
waiting list when it is computed, not when it is asked for: people matched in between are
simply not in it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from matching.models import BatchPair, BatchRun, BatchUnmatched, Match
from mentoring.audit import audit_record, audited_get
from mentoring.models import AuditEvent, CulturalBackground, Mentee, Mentor, Programme, User
from mentoring.permissions import coordinated_programmes, is_coordinator_of
from mentoring.vocabulary import language_name

logger = logging.getLogger(__name__)

Pair = tuple[int, int]  # (mentee id, mentor id)

# Progress is written to the run's row at most this often (seconds), so a page polling the run
# sees it move without the solver spending its time on the database.
PROGRESS_INTERVAL = 0.5
# Progress bands of the computation's steps (percent).
PROGRESS_LOADED = 10
PROGRESS_SOLVED = 85
PROGRESS_GREEDY = 90
WRITE_BATCH = 2000

_STAGE_LENGTH = BatchRun._meta.get_field("stage").max_length
_DETAIL_LENGTH = BatchUnmatched._meta.get_field("detail").max_length
_MAX_ROUNDS = 32767  # PositiveSmallIntegerField
# Recruitment needs: the group of mentees without a (consented) cultural background.
NO_BACKGROUND = gettext_lazy("Not stated or not consented")


class BatchRunProblem(Exception):
    """A run that cannot be computed as asked (a pinned pair that can no longer be made): the
    run fails with this message, in the coordinator's words, and is not retried."""


# --- Selectors -------------------------------------------------------------------------------


def batch_run_list_visible_to(*, user: User, filters: dict | None = None) -> QuerySet[BatchRun]:
    """The runs of the programmes the user coordinates (all for admins); none for anyone else:
    a run lists the people of a waiting list, which managers and mentors do not browse."""
    filters = filters or {}
    qs = BatchRun.objects.select_related("programme", "created_by")
    if not user.is_authenticated:
        return qs.none()
    if not user.is_admin:
        qs = qs.filter(programme__in=coordinated_programmes(user=user))
    if programme := filters.get("programme"):
        qs = qs.filter(programme_id=programme)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    return qs


def batch_run_get_for_user(
    *, user: User, run_id: int, request: HttpRequest | None = None, audit: bool = True
) -> BatchRun:
    """One run the user may see (its read audited unless ``audit`` is False; a refusal always
    is); another programme's run is not found, like a run that does not exist."""
    return audited_get(
        batch_run_list_visible_to(user=user), pk=run_id, user=user, request=request, audit_read=audit
    )


def batch_pair_list(*, run: BatchRun) -> QuerySet[BatchPair]:
    """The run's proposed pairs, best first, with the people's names for the review page."""
    return BatchPair.objects.filter(run=run).select_related(
        "mentee__person", "mentee__family", "mentor__person", "match"
    )


def batch_unmatched_list(*, run: BatchRun) -> QuerySet[BatchUnmatched]:
    """The waiting mentees the run left unmatched, by reason."""
    return BatchUnmatched.objects.filter(run=run).select_related(
        "mentee__person", "mentee__family", "background"
    )


def _worded_already(run: BatchRun) -> bool:
    """Whether the run's stored texts are in the active language."""
    return bool(run.texts_language) and run.texts_language == translation.get_language()


def batch_pairs_worded(*, run: BatchRun, pairs: Iterable[BatchPair]) -> list[BatchPair]:
    """The run's ``pairs``, the reasons of their scores' parts in the active language: as
    stored when the run was worded in it, else worded again from what they are made of."""
    from matching.engine import reword_parts

    pairs = list(pairs)
    if not _worded_already(run):
        reword_parts(pair.parts for pair in pairs)
    return pairs


def batch_unmatched_worded(*, run: BatchRun, rows: Iterable[BatchUnmatched]) -> list[BatchUnmatched]:
    """The run's unmatched ``rows``, each ``detail`` in the active language (as
    ``batch_pairs_worded``)."""
    from matching.engine import unmatched_detail

    rows = list(rows)
    if not _worded_already(run):
        for row in rows:
            row.detail = unmatched_detail(row.reason, row.detail_args, row.detail)
    return rows


def batch_unmatched_details(*, run: BatchRun, limit: int) -> list[dict]:
    """The reasons the run left mentees waiting, in the reader's words, each with how many
    mentees it left (``{"detail", "count"}``), most first."""
    from matching.engine import unmatched_detail

    groups = (
        BatchUnmatched.objects.filter(run=run)
        .order_by()
        .values("reason", "detail", "detail_args")
        .annotate(count=models.Count("id"))
        .values_list("reason", "detail", "detail_args", "count")
    )
    stored = _worded_already(run)
    counts: Counter[str] = Counter()
    for reason, detail, args, count in groups:
        counts[detail if stored else unmatched_detail(reason, args, detail)] += count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"detail": detail, "count": count} for detail, count in ranked[:limit]]


def recruitment_needs(*, run: BatchRun) -> list[dict]:
    """What the programme should recruit for, from the mentees the run left unmatched: their
    reasons summed by preferred language and by cultural background, largest first.

    Each item: ``{"dimension": "language" | "background", "value": code or id (None when
    unknown), "label", "count", "reasons": [{"reason", "label", "count"}, …]}``. Counts are
    exact, small ones included: this view is for the programme's coordinators, who see the
    unmatched mentees row by row anyway (the small-cell rule protects aggregate reports read by
    managers and funders, which this is not)."""
    rows = list(BatchUnmatched.objects.filter(run=run).values_list("reason", "language", "background_id"))
    reason_labels = {value: str(label) for value, label in BatchUnmatched.Reason.choices}
    no_background, not_stated = str(NO_BACKGROUND), _("Not stated")
    background_names = dict(
        CulturalBackground.objects.filter(pk__in={b for _, _, b in rows if b}).values_list("pk", "name")
    )

    def summary(dimension: str, key_of, label_of) -> list[dict]:
        by_value: dict = defaultdict(Counter)
        for reason, language, background_id in rows:
            by_value[key_of(language, background_id)][reason] += 1
        items = []
        for value, reasons in by_value.items():
            items.append(
                {
                    "dimension": dimension,
                    "value": value,
                    "label": label_of(value),
                    "count": sum(reasons.values()),
                    "reasons": [
                        {"reason": reason, "label": reason_labels.get(reason, reason), "count": count}
                        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
                    ],
                }
            )
        items.sort(key=lambda item: (-item["count"], item["value"] is None, str(item["label"])))
        return items

    return [
        *summary(
            "language",
            lambda language, _b: language or None,
            lambda code: language_name(code) if code else not_stated,
        ),
        *summary(
            "background",
            lambda _l, background_id: background_id,
            lambda pk: background_names.get(pk, no_background) if pk else no_background,
        ),
    ]


# --- Creating and repeating runs -------------------------------------------------------------


def _waiting_mentees(programme_id: int) -> QuerySet[Mentee]:
    return Mentee.objects.filter(programme_id=programme_id, status=Mentee.Status.WAITING).exclude(
        matches__status__in=Match.OPEN_STATUSES
    )


def _pairs_parse(value, *, field: str, errors: dict) -> list[Pair]:
    """``[[mentee id, mentor id], …]`` as a list of int tuples, duplicates dropped."""
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        errors.setdefault(field, []).append(
            ValidationError(_("Give a list of [mentee id, mentor id] pairs."), code="invalid")
        )
        return []
    pairs: list[Pair] = []
    for item in value:
        ok = (
            isinstance(item, list | tuple)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in item)
        )
        if not ok:
            errors.setdefault(field, []).append(
                ValidationError(
                    _("Give each pair as [mentee id, mentor id] (two whole numbers)."), code="invalid"
                )
            )
            return []
        pair = (int(item[0]), int(item[1]))
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _pairs_check(
    pairs: list[Pair], *, field: str, waiting: set[int], mentors: set[int], errors: dict
) -> None:
    def error(message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    for mentee_id in sorted({mentee for mentee, _mentor in pairs} - waiting):
        error(_("Mentee %(id)s is not on this programme's waiting list.") % {"id": mentee_id}, "not_waiting")
    for mentor_id in sorted({mentor for _mentee, mentor in pairs} - mentors):
        error(_("Mentor %(id)s is not a mentor of this programme.") % {"id": mentor_id}, "not_found")


def batch_run_create(
    *,
    programme: Programme,
    created_by: User,
    objective: str = BatchRun.Objective.TOTAL_SCORE,
    wait_priority: bool = False,
    pinned: Sequence = (),
    forbidden: Sequence = (),
    previous: BatchRun | None = None,
    request: HttpRequest | None = None,
) -> BatchRun:
    """Ask for a batch matching of the programme's waiting list. Pins (pairs the proposal must
    keep) and forbids (pairs it must avoid) name the programme's waiting mentees and its
    mentors; a mentee is pinned to one mentor at most, and a mentor gets no more pins than free
    places. The run is computed by a worker once this commits; poll its status and progress."""
    if not (created_by.is_admin or is_coordinator_of(user=created_by, programme_id=programme.pk)):
        raise PermissionDenied(_("Only the programme's coordinators can run batch matching."))
    errors: dict[str, list[ValidationError]] = {}
    if objective not in BatchRun.Objective.values:
        errors["objective"] = [
            ValidationError(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(BatchRun.Objective.values)},
                code="invalid_choice",
            )
        ]
    pins = _pairs_parse(pinned, field="pinned", errors=errors)
    forbids = _pairs_parse(forbidden, field="forbidden", errors=errors)
    if previous is not None and previous.programme_id != programme.pk:
        errors["previous"] = [
            ValidationError(_("The previous run belongs to another programme."), code="invalid")
        ]

    if pins or forbids:
        people = {mentee for mentee, _ in pins + forbids}
        waiting = set(_waiting_mentees(programme.pk).filter(pk__in=people).values_list("pk", flat=True))
        mentor_ids = {mentor for _, mentor in pins + forbids}
        mentors = set(
            Mentor.objects.filter(programme=programme, pk__in=mentor_ids).values_list("pk", flat=True)
        )
        _pairs_check(pins, field="pinned", waiting=waiting, mentors=mentors, errors=errors)
        _pairs_check(forbids, field="forbidden", waiting=waiting, mentors=mentors, errors=errors)
        twice = sorted(mentee for mentee, count in Counter(m for m, _ in pins).items() if count > 1)
        if twice:
            errors.setdefault("pinned", []).append(
                ValidationError(
                    _("A mentee can be pinned to one mentor only (mentee %(ids)s).")
                    % {"ids": ", ".join(map(str, twice))},
                    code="pinned_twice",
                )
            )
        both = sorted(set(pins) & set(forbids))
        if both:
            errors.setdefault("forbidden", []).append(
                ValidationError(
                    _("A pair cannot be both pinned and forbidden: %(pairs)s.")
                    % {"pairs": ", ".join(f"[{mentee}, {mentor}]" for mentee, mentor in both)},
                    code="pinned_and_forbidden",
                )
            )
        if "pinned" not in errors and pins:
            _pins_within_capacity(pins, errors=errors)
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        run = BatchRun(
            programme=programme,
            created_by=created_by,
            previous=previous,
            objective=objective,
            wait_priority=bool(wait_priority),
            pinned=[list(pair) for pair in pins],
            forbidden=[list(pair) for pair in forbids],
        )
        run.full_clean(exclude=["created_by"])
        run.save()
        audit_record(user=created_by, action=AuditEvent.Action.CREATE, obj=run, request=request)
        _enqueue(run)
    return run


def _pins_within_capacity(pins: list[Pair], *, errors: dict) -> None:
    wanted = Counter(mentor for _, mentor in pins)
    mentors = Mentor.objects.filter(pk__in=wanted).select_related("person")
    load = Counter(
        Match.objects.filter(mentor_id__in=wanted, status__in=Match.OPEN_STATUSES).values_list(
            "mentor_id", flat=True
        )
    )
    for mentor in mentors:
        free = max(mentor.capacity - load[mentor.pk], 0)
        if wanted[mentor.pk] > free:
            errors.setdefault("pinned", []).append(
                ValidationError(
                    ngettext(
                        "Mentor %(id)s (%(name)s) has %(free)d free place(s) but %(pinned)d pinned mentees.",
                        "Mentor %(id)s (%(name)s) has %(free)d free place(s) but %(pinned)d pinned mentees.",
                        wanted[mentor.pk],
                    )
                    % {"id": mentor.pk, "name": mentor.person, "free": free, "pinned": wanted[mentor.pk]},
                    code="over_capacity",
                )
            )


def _enqueue(run: BatchRun) -> None:
    from matching.tasks import batch_run_compute_task
    from mentoring.outbox import enqueue_after_commit

    enqueue_after_commit(batch_run_compute_task, run.pk)


def batch_run_rerun(
    *,
    run: BatchRun,
    created_by: User,
    pin: Sequence = (),
    unpin: Sequence = (),
    forbid: Sequence = (),
    unforbid: Sequence = (),
    request: HttpRequest | None = None,
) -> BatchRun:
    """Repeat ``run`` with its pins and forbids changed: a new run whose ``previous`` is
    ``run``. Pinning a pair replaces the mentee's earlier pin and lifts a forbid of that pair;
    forbidding a pair lifts its pin. Carried-over pins and forbids of mentees who have left the
    waiting list since (matched meanwhile, often from this very run) are dropped; new ones are
    checked as in ``batch_run_create``."""
    if not (created_by.is_admin or is_coordinator_of(user=created_by, programme_id=run.programme_id)):
        raise PermissionDenied(_("Only the programme's coordinators can run batch matching."))
    errors: dict[str, list[ValidationError]] = {}
    changes = {
        name: _pairs_parse(value, field=name, errors=errors)
        for name, value in (("pin", pin), ("unpin", unpin), ("forbid", forbid), ("unforbid", unforbid))
    }
    if errors:
        raise ValidationError(errors)

    carried = [tuple(p) for p in run.pinned] + [tuple(p) for p in run.forbidden]
    still_waiting = set(
        _waiting_mentees(run.programme_id).filter(pk__in={m for m, _ in carried}).values_list("pk", flat=True)
    )
    pins = [(m, t) for m, t in map(tuple, run.pinned) if m in still_waiting]
    forbids = [(m, t) for m, t in map(tuple, run.forbidden) if m in still_waiting]

    pins = [p for p in pins if p not in changes["unpin"]]
    forbids = [p for p in forbids if p not in changes["unforbid"]]
    for pair in changes["pin"]:
        pins = [p for p in pins if p[0] != pair[0]] + [pair]
        forbids = [p for p in forbids if p != pair]
    for pair in changes["forbid"]:
        pins = [p for p in pins if p != pair]
        if pair not in forbids:
            forbids.append(pair)

    try:
        return batch_run_create(
            programme=run.programme,
            created_by=created_by,
            objective=run.objective,
            wait_priority=run.wait_priority,
            pinned=pins,
            forbidden=forbids,
            previous=run,
            request=request,
        )
    except ValidationError as exc:
        # Name the fields as this service's input names them.
        if hasattr(exc, "error_dict"):
            renamed = {"pinned": "pin", "forbidden": "forbid"}
            raise ValidationError({renamed.get(k, k): v for k, v in exc.error_dict.items()}) from exc
        raise


# --- Computing a run -------------------------------------------------------------------------


def batch_run_language(*, run_id: int) -> str:
    """The language of a run's stored texts: the interface language of the coordinator who
    asked for it (the site's language when they chose none, or are no longer a user). A run's
    stages, error, explanations and unmatched reasons are worded once, by the worker, and read
    on the run's pages by its coordinator."""
    chosen = (
        BatchRun.objects.filter(pk=run_id).values_list("created_by__interface_language", flat=True).first()
    )
    return chosen or settings.LANGUAGE_CODE


def batch_run_compute(*, run_id: int) -> BatchRun:
    """Compute the run (the Celery task's body). Safe to repeat: a done run is returned as it
    is; any other is computed afresh, replacing whatever an interrupted attempt left. The pairs,
    the unmatched and the figures are written in one transaction, so a failure leaves nothing
    half-written; the run is then failed with a readable error. Its texts are worded in
    ``batch_run_language``."""
    language = batch_run_language(run_id=run_id)
    with translation.override(language):
        return _batch_run_compute(run_id, language)


def _batch_run_compute(run_id: int, language: str) -> BatchRun:
    with transaction.atomic():
        run = BatchRun.objects.select_for_update().get(pk=run_id)
        if run.status == BatchRun.Status.DONE:
            return run
        run.status = BatchRun.Status.RUNNING
        run.started_at = timezone.now()
        run.finished_at = None
        run.progress = 0
        run.stage = _("Reading the waiting list")
        run.error = ""
        run.texts_language = language
        fields = ["status", "started_at", "finished_at", "progress", "stage", "error", "texts_language"]
        run.save(update_fields=fields)

    started = time.perf_counter()
    try:
        _compute(run, started=started)
    except BatchRunProblem as exc:
        _fail(run_id, str(exc))
    except Exception as exc:
        logger.exception("Batch run %s failed", run_id)
        _fail(
            run_id,
            _(
                "The computation stopped with an unexpected error (%(error)s). "
                "Run it again; if it fails again, tell the administrator."
            )
            % {"error": type(exc).__name__},
        )
        raise
    run.refresh_from_db()
    return run


def _fail(run_id: int, message: str) -> None:
    BatchRun.objects.filter(pk=run_id).exclude(status=BatchRun.Status.DONE).update(
        status=BatchRun.Status.FAILED,
        error=message,
        stage=str(BatchRun.Status.FAILED.label),
        finished_at=timezone.now(),
    )


class _Progress:
    """The solver's ``progress(percent, stage)``: mapped into the run's progress band and
    written with a queryset update (visible to a polling page at once), at most every
    ``PROGRESS_INTERVAL`` seconds unless forced."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.last = 0.0

    def write(self, percent: int, stage: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_INTERVAL:
            return
        self.last = now
        BatchRun.objects.filter(pk=self.run_id).update(
            progress=max(0, min(int(percent), 99)), stage=str(stage)[:_STAGE_LENGTH]
        )

    def solver(self, percent: int, stage: str) -> None:
        share = max(0, min(int(percent), 100)) / 100
        self.write(PROGRESS_LOADED + round(share * (PROGRESS_SOLVED - PROGRESS_LOADED)), stage)


def _compute(run: BatchRun, *, started: float) -> None:
    import numpy as np

    from matching import optimize
    from matching.engine import load_matching_data

    progress = _Progress(run.pk)
    data = load_matching_data(
        run.programme_id,
        wait_priority=run.wait_priority,
        forbidden=[tuple(pair) for pair in run.forbidden],
    )
    n = len(data.mentee_ids)
    mentee_index = {int(pk): i for i, pk in enumerate(data.mentee_ids)}
    mentor_index = {int(pk): j for j, pk in enumerate(data.mentor_ids)}
    fixed = _fixed_pairs(run, data, mentee_index, mentor_index)
    progress.write(
        PROGRESS_LOADED,
        ngettext(
            "Scoring %(mentees)d mentees against %(mentors)d mentors",
            "Scoring %(mentees)d mentees against %(mentors)d mentors",
            n,
        )
        % {"mentees": n, "mentors": len(data.mentor_ids)},
        force=True,
    )

    capacities = np.asarray(data.mentor_free)
    if n and len(capacities):
        # The greedy assignment for comparison, with the same pins and objective (like for
        # like), runs beside the solver's pricing rounds from the solver's first scoring: mentees
        # are placed from their reserves where these decide instead of being scored again.
        with ThreadPoolExecutor(max_workers=1) as beside:
            comparison = []

            def start_greedy(reserve) -> None:
                comparison.append(
                    beside.submit(
                        optimize.greedy,
                        data.score_block,
                        n,
                        capacities,
                        objective=run.objective,
                        fixed=fixed,
                        reserve=reserve,
                    )
                )

            result = optimize.solve(
                data.score_block,
                n,
                capacities,
                objective=run.objective,
                fixed=fixed,
                progress=progress.solver,
                on_reserve=start_greedy,
            )
            progress.write(PROGRESS_SOLVED, _("Computing a greedy assignment for comparison"), force=True)
            baseline = comparison[0].result()
    else:
        # Nobody waiting, or no mentor at all: nothing to solve, and every mentee stays unmatched.
        result = baseline = optimize.Result(
            mentor_of=np.full(n, -1, dtype=np.int64),
            total=0,
            matched=0,
            upper_bound=0.0,
            objective_value=0.0,
            gap=0.0,
            rounds=0,
            edges=0,
            prices=None,
        )
    progress.write(PROGRESS_GREEDY, _("Explaining the proposed pairs"), force=True)

    mentor_of = np.asarray(result.mentor_of)
    fixed_set = set(fixed)
    assigned = np.flatnonzero(mentor_of >= 0)
    left = np.flatnonzero(mentor_of < 0)
    # Why each unmatched mentee stays so is mostly numpy's work: it runs beside the explanations,
    # which are mostly Python's. Only codes and figures come back; the words are put here, in
    # the run's language.
    with ThreadPoolExecutor(max_workers=1) as beside:
        causes = beside.submit(data.unmatched_causes, left, mentor_of)
        explanations = _explanations(data, assigned, mentor_of[assigned])
        reasons = _unmatched_reasons(causes.result())
    pairs: list[tuple] = []
    unmatched: list[tuple] = []
    concordant = 0
    for i, explanation in zip(assigned.tolist(), explanations, strict=True):
        j = int(mentor_of[i])
        concordant += bool(explanation.language_concordant)
        pairs.append(
            (
                run.pk,
                int(data.mentee_ids[i]),
                int(data.mentor_ids[j]),
                int(explanation.score),
                [part.as_dict() for part in explanation.parts],
                (i, j) in fixed_set,
                bool(explanation.language_concordant),
            )
        )
    for i, (reason, detail, detail_args) in zip(left.tolist(), reasons, strict=True):
        unmatched.append(
            (
                run.pk,
                int(data.mentee_ids[i]),
                reason,
                str(detail)[:_DETAIL_LENGTH],
                detail_args,
                (data.mentee_language(i) or "")[:3],
                data.mentee_background_id(i),
            )
        )
    progress.write(95, _("Saving the proposal"), force=True)

    with transaction.atomic():
        # A second delivery of the task may have finished first: keep its result.
        if BatchRun.objects.select_for_update().get(pk=run.pk).status == BatchRun.Status.DONE:
            return
        BatchPair.objects.filter(run_id=run.pk).delete()
        BatchUnmatched.objects.filter(run_id=run.pk).delete()
        _insert(BatchPair, PAIR_FIELDS, pairs)
        _insert(BatchUnmatched, UNMATCHED_FIELDS, unmatched)
        BatchRun.objects.filter(pk=run.pk).update(
            status=BatchRun.Status.DONE,
            progress=100,
            stage=str(BatchRun.Status.DONE.label),
            finished_at=timezone.now(),
            error="",
            waiting_count=n,
            # Mentors who could take a mentee now (a free place and nothing else in the way).
            mentor_count=int((capacities > 0).sum()),
            matched_count=len(pairs),
            total_score=int(result.total),
            greedy_total_score=int(baseline.total),
            greedy_matched_count=int(baseline.matched),
            upper_bound=None if result.upper_bound is None else float(result.upper_bound),
            language_concordant_count=concordant,
            pricing_rounds=min(int(result.rounds), _MAX_ROUNDS),
            elapsed_ms=int((time.perf_counter() - started) * 1000),
        )
        # A system job wrote the proposal about these mentees: one row for the run.
        audit_record(user=None, action=AuditEvent.Action.UPDATE, obj=run)


def _explanations(data, rows, cols) -> list:
    """The explanation of each pair (``rows[k]``, ``cols[k]``), in memory (no query per pair).
    Through the engine's block version when it has one (one scoring pass per block of pairs
    instead of one per pair), else pair by pair."""
    many = getattr(data, "explain_many", None)
    if many is not None:
        return list(many(rows, cols))
    return [data.explain(int(i), int(j)) for i, j in zip(rows, cols, strict=True)]


def _unmatched_reasons(causes: list[tuple[str, dict]]) -> list[tuple[str, str, dict]]:
    """(reason, detail, what the detail is worded from) for each of ``MatchingData``'s
    ``unmatched_causes``, worded in the active language."""
    from matching.engine import unmatched_detail

    return [(reason, unmatched_detail(reason, args, ""), args) for reason, args in causes]


PAIR_FIELDS = ("run_id", "mentee_id", "mentor_id", "score", "parts", "pinned", "language_concordant")
UNMATCHED_FIELDS = ("run_id", "mentee_id", "reason", "detail", "detail_args", "language", "background_id")


def _insert(model, fields: Sequence[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in the order of ``fields``; JSON fields as Python values) in the
    caller's transaction: PostgreSQL's COPY, which writes 20,000 pairs with their explanations
    in a fraction of what ``bulk_create`` takes; ``bulk_create`` in batches elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=WRITE_BATCH
        )
        return
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    json_at = [k for k, name in enumerate(fields) if isinstance(by_attname[name], models.JSONField)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(by_attname[name].column) for name in fields)
    # Table and column names come from the model's metadata; the values travel as COPY data.
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for k in json_at:
                    row[k] = json.dumps(row[k])
            copy.write_row(row)


def _fixed_pairs(run: BatchRun, data, mentee_index: dict, mentor_index: dict) -> list[tuple[int, int]]:
    """The run's pins as (mentee index, mentor index), each checked against today's data: a
    pinned pair that can no longer be made fails the run with the reason."""
    import numpy as np

    if not run.pinned:
        return []
    names = {
        m.pk: str(m.person)
        for m in Mentee.objects.filter(pk__in=[p[0] for p in run.pinned]).select_related("person")
    }
    mentor_names = {
        m.pk: str(m.person)
        for m in Mentor.objects.filter(pk__in=[p[1] for p in run.pinned]).select_related("person")
    }
    fixed = []
    problems = []
    for mentee_id, mentor_id in run.pinned:
        who = f"{names.get(mentee_id, mentee_id)} – {mentor_names.get(mentor_id, mentor_id)}"
        if mentee_id not in mentee_index:
            problems.append(_("%(pair)s: the mentee is no longer waiting.") % {"pair": who})
            continue
        if mentor_id not in mentor_index:
            problems.append(_("%(pair)s: the mentor can no longer be matched.") % {"pair": who})
            continue
        i, j = mentee_index[mentee_id], mentor_index[mentor_id]
        _scores, feasible = data.score_block(np.array([i], dtype=np.int64))
        if not bool(feasible[0, j]):
            rules = data.explain(i, j).excluded_by or data.mentor_rule_texts(j) or [_("no free place")]
            problems.append(_("%(pair)s: %(rules)s.") % {"pair": who, "rules": "; ".join(rules)})
            continue
        fixed.append((i, j))
    if problems:
        raise BatchRunProblem(
            _("A pinned pair cannot be made: %(problems)s Unpin it and run again.")
            % {"problems": " ".join(problems)}
        )
    return fixed


# --- Accepting pairs -------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusedPair:
    """A pair of the run that could not become a match, with the reason in the coordinator's
    words."""

    pair: BatchPair
    reason: str


class AcceptedMatches(list):
    """The matches made (a ``list[Match]``), with ``refused``: the pairs that could not be made."""

    def __init__(self, matches: Iterable[Match] = (), refused: Iterable[RefusedPair] = ()) -> None:
        super().__init__(matches)
        self.refused: list[RefusedPair] = list(refused)


def batch_run_accept(
    *,
    run: BatchRun,
    created_by: User,
    pair_ids: Sequence[int] | None = None,
    request: HttpRequest | None = None,
) -> AcceptedMatches:
    """Turn pairs of a done run into proposed matches, through ``match_create`` as single
    matches are made. ``pair_ids=None`` accepts every pair not accepted yet. Each pair is made in
    its own savepoint: a pair that can no longer be made (the mentor is full, the mentee was
    matched meanwhile, a pair accepted already) is returned in ``refused`` with its reason, and
    the others are still made. Returns the matches made."""
    from matching.services import match_create

    if not (created_by.is_admin or is_coordinator_of(user=created_by, programme_id=run.programme_id)):
        raise PermissionDenied(_("Only the programme's coordinators can accept a batch proposal."))
    run.refresh_from_db(fields=["status"])
    if run.status != BatchRun.Status.DONE:
        raise ValidationError(
            _("Only a run ready for review can be accepted (this one is %(status)s).")
            % {"status": run.get_status_display().lower()},
            code="not_done",
        )
    if pair_ids is not None:
        if isinstance(pair_ids, str | bytes) or not all(
            isinstance(pk, int) and not isinstance(pk, bool) for pk in pair_ids
        ):
            raise ValidationError(
                {"pair_ids": ValidationError(_("Give the pairs' ids as whole numbers."), code="invalid")}
            )
        pair_ids = list(dict.fromkeys(pair_ids))
        if not pair_ids:
            raise ValidationError(
                {"pair_ids": ValidationError(_("Choose at least one pair."), code="required")}
            )

    matches: list[Match] = []
    refused: list[RefusedPair] = []
    with transaction.atomic():
        pairs_qs = (
            BatchPair.objects.select_for_update(of=("self",))
            .filter(run=run)
            .select_related("mentee__person", "mentor__person")
            .order_by("-pinned", "-score", "mentee_id")
        )
        if pair_ids is None:
            pairs = list(pairs_qs.filter(match__isnull=True))
            if not pairs:
                raise ValidationError(
                    {
                        "pair_ids": ValidationError(
                            _("Every pair of this run has been accepted already."), code="accepted"
                        )
                    }
                )
        else:
            pairs = list(pairs_qs.filter(pk__in=pair_ids))
            missing = sorted(set(pair_ids) - {pair.pk for pair in pairs})
            if missing:
                raise ValidationError(
                    {
                        "pair_ids": ValidationError(
                            _("Not pairs of this run: %(ids)s.") % {"ids": ", ".join(map(str, missing))},
                            code="not_found",
                        )
                    }
                )
        for pair in pairs:
            if pair.match_id is not None:
                refused.append(RefusedPair(pair, _("This pair has been accepted already.")))
                continue
            try:
                with transaction.atomic():
                    match = match_create(
                        mentee=pair.mentee,
                        mentor=pair.mentor,
                        created_by=created_by,
                        score=pair.score,
                        propose=True,
                        batch_run=run,
                        request=request,
                    )
                    pair.match = match
                    pair.save(update_fields=["match"])
            except ValidationError as exc:
                refused.append(RefusedPair(pair, " ".join(exc.messages)))
            except IntegrityError:
                # The one-open-match-per-mentee constraint: matched by someone else meanwhile.
                refused.append(RefusedPair(pair, _("The mentee has been matched meanwhile.")))
            else:
                matches.append(match)
    return AcceptedMatches(matches, refused)
