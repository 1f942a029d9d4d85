"""Outcome instruments with a label per interface language (django-modeltranslation), as the
programme vocabularies in ``mentoring.translation``."""

from modeltranslation.translator import TranslationOptions, register

from sessions.models import OutcomeInstrument


@register(OutcomeInstrument)
class OutcomeInstrumentTranslation(TranslationOptions):
    fields = ("name",)
