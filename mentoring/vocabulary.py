"""ISO 639 languages and ISO 3166 countries, looked up in pycountry's databases and named in
the active interface language with pycountry's own translations (its gettext catalogues)."""

from __future__ import annotations

import gettext as gettext_module
import unicodedata
from functools import lru_cache

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# pycountry's gettext domains: names of ISO 639-3 languages and of ISO 3166-1 countries.
LANGUAGE_DOMAIN = "iso639-3"
COUNTRY_DOMAIN = "iso3166-1"


def active_language() -> str:
    """The active interface language as a bare code ("pt" for "pt-pt")."""
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0].lower()


@lru_cache(maxsize=32)
def _catalogue(domain: str, language: str) -> gettext_module.NullTranslations:
    return gettext_module.translation(domain, pycountry.LOCALES_DIR, languages=[language], fallback=True)


def _pycountry_text(domain: str, language: str, english: str) -> str:
    """``english`` (a name in pycountry's database) as pycountry's catalogue for ``language``
    writes it; the English name where the catalogue has none."""
    translate = _catalogue(domain, language).gettext  # not Django's: no message to extract here
    return translate(english)


def language_name(code: str) -> str:
    """Name of an ISO 639-1/-2/-3 code in the active language ("ro" → "Romanian", "rom" →
    "Romany"; in Dutch "Roemeens", "Roma"). An unknown code is returned as it is."""
    return _language_name(code, active_language())


@lru_cache(maxsize=4096)
def _language_name(code: str, language: str) -> str:
    record = _language(code)
    if record is None:
        return code
    if language == "en":
        return record.name
    return _pycountry_text(LANGUAGE_DOMAIN, language, record.name)


def country_name(code: str) -> str:
    """Name of an ISO 3166-1 alpha-2 code in the active language ("BE" → "Belgium"); an
    unknown code is returned as it is, an empty one as ""."""
    return (_country_name(code.upper(), active_language()) or code) if code else ""


@lru_cache(maxsize=2048)
def _country_name(code: str, language: str) -> str:
    record = pycountry.countries.get(alpha_2=code)
    if record is None:
        return ""
    if language == "en":
        return record.name
    return _pycountry_text(COUNTRY_DOMAIN, language, record.name)


def name_sort_key(name: str) -> str:
    """Alphabetical order of names in the active language: English keeps plain code-point order;
    other languages sort accented letters with their base letter ("Észt" among the E's)."""
    if active_language() == "en":
        return name
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _language(code: str):
    code = (code or "").lower()
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code)
    if len(code) == 3:
        return pycountry.languages.get(alpha_3=code) or pycountry.languages.get(bibliographic=code)
    return None


def validate_language_code(code: str) -> None:
    if _language(code) is None:
        raise ValidationError(
            _("“%(code)s” is not an ISO 639 language code.") % {"code": code}, code="invalid_language"
        )


def validate_country_code(code: str) -> None:
    if code and pycountry.countries.get(alpha_2=code.upper()) is None:
        raise ValidationError(
            _("“%(code)s” is not an ISO 3166 country code.") % {"code": code}, code="invalid_country"
        )


def language_choices(codes: list[str]) -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in codes]
