"""Keep the suggestion cache of ``matching.engine`` current: any change to what matching reads
moves the programme's version, so the next suggestion rebuilds its arrays."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from matching.engine import bump_version
from matching.models import Match, MatchExclusion, ScoringConfig
from mentoring.models import Consent, Mentee, Mentor, Person, PersonLanguage


def _bump(programme_id: int | None) -> None:
    # At once, and again on commit so other processes never rebuild from the old rows.
    if programme_id:
        bump_version(programme_id)
        transaction.on_commit(lambda: bump_version(programme_id))


def _via_person(person_id: int | None) -> None:
    if person_id:
        programme_id = Person.objects.filter(pk=person_id).values_list("programme_id", flat=True).first()
        _bump(programme_id)


@receiver([post_save, post_delete], sender=Person)
@receiver([post_save, post_delete], sender=Mentor)
@receiver([post_save, post_delete], sender=Mentee)
@receiver([post_save, post_delete], sender=Match)
@receiver([post_save, post_delete], sender=MatchExclusion)
@receiver([post_save, post_delete], sender=ScoringConfig)
def _programme_record_changed(sender, instance, **kwargs) -> None:
    _bump(getattr(instance, "programme_id", None))


@receiver([post_save, post_delete], sender=PersonLanguage)
@receiver([post_save, post_delete], sender=Consent)
def _person_detail_changed(sender, instance, **kwargs) -> None:
    _via_person(instance.person_id)


@receiver(m2m_changed, sender=Person.needs.through)
@receiver(m2m_changed, sender=Person.cultural_backgrounds.through)
def _person_vocabulary_changed(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_") and isinstance(instance, Person):
        _bump(instance.programme_id)
    elif action.startswith("post_"):
        _bump(getattr(instance, "programme_id", None))
