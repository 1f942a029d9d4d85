"""Choosing the interface language: the switcher keeps a visitor's choice in a cookie and a
signed-in user's on their account, so it follows them to another device; the API answers in
the language a client asks for; programme vocabularies show each language's own label."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from mentoring.models import CulturalBackground, Need
from tests.factories import MentorFactory

pytestmark = pytest.mark.django_db


def _translated(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


def test_a_visitor_chooses_romanian_and_the_sign_in_page_speaks_it(client):
    response = client.post(reverse("set-language"), {"language": "ro", "next": reverse("login")})

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ro"
    page = client.get(reverse("login"))
    assert page["Content-Language"] == "ro"
    assert '<html lang="ro">' in page.content.decode()
    assert '<option value="ro" lang="ro" selected>Română</option>' in page.content.decode()


def test_a_signed_in_users_choice_is_kept_on_their_account_and_follows_them(coordinator):
    phone = Client()
    phone.force_login(coordinator)

    phone.post(reverse("set-language"), {"language": "hu", "next": reverse("mentee-waiting-list")})

    coordinator.refresh_from_db()
    assert coordinator.interface_language == "hu"
    laptop = Client(headers={"accept-language": "nl"})  # another device, another browser language
    laptop.force_login(coordinator)
    page = laptop.get(reverse("mentee-waiting-list"))
    assert page["Content-Language"] == "hu"
    assert f"<h1>{_translated('hu', 'Waiting list')}</h1>" in page.content.decode()


def test_without_a_choice_the_browser_language_is_used(coordinator):
    browser = Client(headers={"accept-language": "es"})
    browser.force_login(coordinator)

    assert browser.get(reverse("mentee-waiting-list"))["Content-Language"] == "es"


def test_a_language_tandem_does_not_speak_is_refused_and_changes_nothing(client, coordinator):
    coordinator.interface_language = "pt"
    coordinator.save()
    client.force_login(coordinator)

    response = client.post(reverse("set-language"), {"language": "de", "next": "/"})

    assert response.status_code == 400
    message = _translated("pt", "“%(language)s” is not a language Tandem speaks; choose one of %(choices)s.")
    assert response.content.decode() == message % {"language": "de", "choices": "en, nl, hu, pt, ro, es"}
    assert "choose one of" not in message, "the answer is in the user's language, Portuguese"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    coordinator.refresh_from_db()
    assert coordinator.interface_language == "pt"


def test_the_switcher_only_takes_a_post(client):
    assert client.get(reverse("set-language"), {"language": "nl"}).status_code == 405


def test_the_switcher_does_not_send_anyone_off_site(client):
    response = client.post(reverse("set-language"), {"language": "nl", "next": "https://elsewhere.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_api_answers_in_the_language_the_client_asks_for():
    (english,) = APIClient().get(reverse("api-mentee-list")).json()["errors"]
    spanish = APIClient(headers={"accept-language": "es"}).get(reverse("api-mentee-list"))

    (error,) = spanish.json()["errors"]
    assert spanish["Content-Language"] == "es"
    assert error["code"] == english["code"] == "not_authenticated"
    assert error["message"] == _translated("es", english["message"]) != english["message"]


def test_a_vocabulary_shows_each_languages_label_and_falls_back_where_one_is_missing(
    client, programme, coordinator
):
    mentor = MentorFactory(programme=programme)
    background = CulturalBackground.objects.create(
        programme=mentor.programme, code="flemish", name_en="Flemish", name_nl="Vlaams"
    )
    mentor.person.cultural_backgrounds.add(background)
    client.force_login(coordinator)
    url = reverse("mentor-detail", kwargs={"mentor_id": mentor.pk})

    shown = {}
    for language in ("nl", "hu", "en"):
        coordinator.interface_language = language
        coordinator.save(update_fields=["interface_language"])
        shown[language] = client.get(url).content.decode()

    assert "Vlaams" in shown["nl"] and "Flemish" not in shown["nl"]
    assert "Flemish" in shown["hu"]  # no Hungarian label: the English one
    assert "Flemish" in shown["en"] and "Vlaams" not in shown["en"]


def test_the_api_gives_a_vocabularys_label_in_the_asked_language_and_all_its_labels(
    programme, coordinator, client_for
):
    Need.objects.create(programme=programme, code="homework", name_en="Homework support", name_ro="Teme")
    api = client_for(coordinator)

    (romanian,) = api.get(reverse("api-need-list"), headers={"accept-language": "ro"}).json()["results"]
    (spanish,) = api.get(reverse("api-need-list"), headers={"accept-language": "es"}).json()["results"]

    assert romanian["name"] == "Teme"
    assert spanish["name"] == "Homework support"  # no Spanish label: the English one
    assert romanian["labels"] == spanish["labels"] == {"en": "Homework support", "ro": "Teme"}


def test_an_administrator_gives_a_vocabulary_entry_a_label_in_each_language(client, admin_user, programme):
    need = Need.objects.create(programme=programme, code="homework", name_en="Homework support")
    client.force_login(admin_user)
    url = reverse("admin:mentoring_need_change", args=[need.pk])

    form = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "programme": programme.pk,
            "code": "homework",
            **{f"name_{code}": "" for code, _name in settings.LANGUAGES},
            "name_en": "Homework support",
            "name_hu": "Házi feladat",
        },
    )

    assert all(f'name="name_{code}"' in form for code, _name in settings.LANGUAGES)
    assert response.status_code == 302, response.content.decode()[:2000]
    need.refresh_from_db()
    with translation.override("hu"):
        assert need.name == "Házi feladat"
