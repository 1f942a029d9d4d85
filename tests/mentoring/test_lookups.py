"""``__any_of``: the same rows as ``__in`` on every database, sent as one array on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mentoring.models import Person, PersonLanguage
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_the_same_people_as_in_on_ids_and_foreign_keys():
    people = PersonFactory.create_batch(5)
    wanted = [people[0].pk, people[3].pk, 10**12]  # and an id no one has
    assert set(Person.objects.filter(pk__any_of=wanted)) == {people[0], people[3]}
    assert set(
        PersonLanguage.objects.filter(person_id__any_of=wanted).values_list("person_id", flat=True)
    ) == {people[0].pk, people[3].pk}
    assert set(PersonLanguage.objects.filter(person__any_of=wanted)) == set(
        PersonLanguage.objects.filter(person__in=wanted)
    )


def test_any_of_an_empty_list_finds_no_one_without_asking_the_database():
    PersonFactory()
    with CaptureQueriesContext(connection) as queries:
        assert list(Person.objects.filter(pk__any_of=[])) == []
    assert len(queries) == 0


def test_a_long_list_is_one_parameter_on_postgresql():
    people = PersonFactory.create_batch(3)
    ids = [p.pk for p in people] + list(range(10**9, 10**9 + 5000))
    with CaptureQueriesContext(connection) as queries:
        found = set(Person.objects.filter(pk__any_of=ids).values_list("pk", flat=True))
    assert found == {p.pk for p in people}
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
        assert " IN (" not in queries[0]["sql"]
