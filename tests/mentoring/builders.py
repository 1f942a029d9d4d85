"""Records at a given point of their lifecycle, for the API tests of ``mentoring``.

``mentor_at(programme, "trained")`` is a mentor in training who has done everything approval
needs; each stage adds what the next service checks, so a test changes one thing and sees the
one refusal it causes.
"""

from __future__ import annotations

import datetime

from mentoring.models import (
    Mentor,
    MentorReference,
    Need,
    Programme,
    SelfAssessment,
    SelfAssessmentQuestion,
    TrainingRecord,
)
from tests.factories import MentorFactory

DAY = datetime.timedelta(days=1)

MENTOR_STAGES = ("applied", "screening", "screened", "training", "trained", "approved", "inactive")


def today() -> datetime.date:
    return datetime.date.today()


def self_assessment_questions(programme: Programme) -> list[SelfAssessmentQuestion]:
    """The programme's competence statements (made once per programme)."""
    texts = [
        "I can explain how the school system works to a parent new to it.",
        "I can help a parent prepare for a parent–teacher meeting.",
        "I know when and how to pass a concern to the coordinator.",
    ]
    return [
        SelfAssessmentQuestion.objects.get_or_create(programme=programme, text=text, defaults={"order": i})[0]
        for i, text in enumerate(texts)
    ]


def answers_for(programme: Programme, score: int = 4) -> dict[str, int]:
    return {str(q.pk): score for q in self_assessment_questions(programme)}


def needs(programme: Programme) -> list[Need]:
    return [
        Need.objects.get_or_create(programme=programme, code=code, defaults={"name": name})[0]
        for code, name in [
            ("homework", "Homework support"),
            ("school_system", "School-system orientation"),
            ("parent_teacher", "Parent–teacher meetings"),
        ]
    ]


def mentor_at(programme: Programme, stage: str, **kwargs) -> Mentor:
    """A mentor at ``stage`` (one of ``MENTOR_STAGES``); ``kwargs`` go to ``MentorFactory``."""
    if stage not in MENTOR_STAGES:
        raise ValueError(stage)
    reached = MENTOR_STAGES.index(stage)
    status = {
        "applied": Mentor.Status.APPLIED,
        "screening": Mentor.Status.SCREENING,
        "screened": Mentor.Status.SCREENING,
        "training": Mentor.Status.TRAINING,
        "trained": Mentor.Status.TRAINING,
        "approved": Mentor.Status.APPROVED,
        "inactive": Mentor.Status.INACTIVE,
    }[stage]
    values: dict = {"programme": programme, "status": status}
    if reached >= MENTOR_STAGES.index("screened"):
        values |= {
            "interviewed_on": today() - 100 * DAY,
            "record_check_on": today() - 90 * DAY,
            "record_check_expires_on": today() + 640 * DAY,
        }
    if reached >= MENTOR_STAGES.index("trained"):
        values["training_completed_on"] = today() - 60 * DAY
    if reached >= MENTOR_STAGES.index("approved"):
        values["approved_on"] = today() - 50 * DAY
    values |= kwargs
    mentor = MentorFactory(**values)
    if reached >= MENTOR_STAGES.index("screened"):
        for referee, relationship in [("Ana Pop", "employer"), ("Pr. Ioan Rus", "community leader")]:
            MentorReference.objects.create(
                mentor=mentor,
                referee_name=referee,
                relationship=relationship,
                received_on=today() - 95 * DAY,
                satisfactory=True,
            )
    if reached >= MENTOR_STAGES.index("trained"):
        TrainingRecord.objects.create(
            mentor=mentor, course="Parent mentoring basics", completed_on=today() - 60 * DAY, test_score=85
        )
        SelfAssessment.objects.create(
            mentor=mentor, stage=SelfAssessment.Stage.START, answers=answers_for(programme)
        )
    return mentor
