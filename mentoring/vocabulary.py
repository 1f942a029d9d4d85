"""ISO 639 languages and ISO 3166 countries, looked up in pycountry's databases."""

from __future__ import annotations

from functools import lru_cache

import pycountry
from django.core.exceptions import ValidationError


@lru_cache(maxsize=1024)
def language_name(code: str) -> str:
    """English name of an ISO 639-1/-2/-3 code ("ro" → "Romanian", "rom" → "Romany")."""
    record = _language(code)
    return record.name if record else code


def _language(code: str):
    code = (code or "").lower()
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code)
    if len(code) == 3:
        return pycountry.languages.get(alpha_3=code) or pycountry.languages.get(bibliographic=code)
    return None


def validate_language_code(code: str) -> None:
    if _language(code) is None:
        raise ValidationError(f"“{code}” is not an ISO 639 language code.", code="invalid_language")


def validate_country_code(code: str) -> None:
    if code and pycountry.countries.get(alpha_2=code.upper()) is None:
        raise ValidationError(f"“{code}” is not an ISO 3166 country code.", code="invalid_country")


def language_choices(codes: list[str]) -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in codes]
