"""Programme vocabularies with a label per interface language (django-modeltranslation):
``name`` reads the active language's label, falling back as MODELTRANSLATION_FALLBACK_LANGUAGES
says; ``name_nl``, ``name_hu``, ... hold each language's own."""

from modeltranslation.translator import TranslationOptions, register

from mentoring.models import CulturalBackground, Need


@register(CulturalBackground)
class CulturalBackgroundTranslation(TranslationOptions):
    fields = ("name",)


@register(Need)
class NeedTranslation(TranslationOptions):
    fields = ("name",)
