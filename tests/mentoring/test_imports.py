"""Bulk import of mentors and families: the service, the upload page and the command."""

from __future__ import annotations

import csv
import datetime
import io
import time

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import mentoring.imports
from mentoring.imports import COLUMNS, FAMILIES, MENTORS, people_import
from mentoring.models import (
    AuditEvent,
    Consent,
    Family,
    Mentee,
    Mentor,
    MentorStatusChange,
    Need,
    Person,
    PersonLanguage,
    School,
)
from mentoring.services import LanguageSpec, PersonSpec, mentor_apply
from tests.factories import CulturalBackgroundFactory, MenteeFactory, MentorFactory, UserFactory

MENTOR_HEADER = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "gender",
    "age_band",
    "country_of_birth",
    "migrant_background",
    "municipality",
    "postcode",
    "preferred_language",
    "preferred_language_level",
    "other_languages",
    "cultural_backgrounds",
    "needs",
    "availability",
    "session_modes",
    "capacity",
    "consents",
    "consent_given_by",
    "applied_on",
]

FAMILY_HEADER = [
    "family_reference",
    "referral_source",
    "referrer_name",
    "referrer_organisation",
    "referred_on",
    "member_kind",
    "mentored",
    "first_name",
    "last_name",
    "country_of_birth",
    "migrant_background",
    "preferred_language",
    "preferred_language_level",
    "other_languages",
    "cultural_backgrounds",
    "consents",
    "consent_given_by",
    "school",
    "grade",
]


def mentor_row(**values) -> dict:
    row = {
        "first_name": "Olena",
        "last_name": "Kovalenko",
        "email": "olena.kovalenko@example.org",
        "phone": "+40 722 123 456",
        "gender": "woman",
        "age_band": "30_44",
        "country_of_birth": "UA",
        "migrant_background": "first_generation",
        "municipality": "Baia Mare",
        "postcode": "430000",
        "preferred_language": "uk",
        "preferred_language_level": "native",
        "other_languages": "ro:fluent; en:basic",
        "cultural_backgrounds": "ukrainian",
        "needs": "homework",
        "availability": "mon_evening; sat_morning",
        "session_modes": "in_person; video",
        "capacity": "2",
        "consents": "case_management; background_matching; statistics",
        "consent_given_by": "",
        "applied_on": "2025-09-01",
    }
    row.update(values)
    return row


def csv_bytes(rows: list[dict], header: list[str] | None = None, delimiter: str = ",") -> bytes:
    header = header or list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def vocabularies(programme):
    for code in ("ukrainian", "roma", "hungarian"):
        CulturalBackgroundFactory(programme=programme, code=code)
    Need.objects.create(programme=programme, code="homework", name="Homework support")
    Need.objects.create(programme=programme, code="school_system", name="School-system orientation")


def three_mentors() -> list[dict]:
    return [
        mentor_row(),
        mentor_row(
            first_name="Zsófia",
            last_name="Kovács",
            email="zsofia.kovacs@example.org",
            country_of_birth="RO",
            migrant_background="none",
            preferred_language="hu",
            other_languages="ro:native",
            cultural_backgrounds="hungarian",
            consents="case_management; statistics",
        ),
        # No email and no background data: needs no background consent.
        mentor_row(
            first_name="Mirela",
            last_name="Rostaș",
            email="",
            country_of_birth="",
            migrant_background="",
            preferred_language="ro",
            other_languages="rom:native",
            cultural_backgrounds="",
            consents="case_management",
            capacity="",
            applied_on="",
        ),
    ]


def run(programme, kind, content, **kwargs):
    return people_import(programme=programme, kind=kind, content=content, recorded_by=None, **kwargs)


# Mentors -----------------------------------------------------------------------------------


def test_good_mentor_file_imports_every_row_with_languages_backgrounds_and_consents(
    programme, vocabularies, coordinator
):
    report = people_import(
        programme=programme,
        kind=MENTORS,
        content=csv_bytes(three_mentors()),
        recorded_by=coordinator,
        commit=True,
    )

    assert report.committed and report.is_clean
    assert report.created["mentors"] == 3
    olena = Mentor.objects.select_related("person").get(person__email="olena.kovalenko@example.org")
    assert olena.status == Mentor.Status.APPLIED
    assert olena.capacity == 2
    assert olena.applied_on == datetime.date(2025, 9, 1)
    assert olena.programme == programme
    person = olena.person
    assert {(pl.language, pl.level, pl.is_preferred) for pl in person.languages.all()} == {
        ("uk", "native", True),
        ("ro", "fluent", False),
        ("en", "basic", False),
    }
    assert [cb.code for cb in person.cultural_backgrounds.all()] == ["ukrainian"]
    assert [need.code for need in person.needs.all()] == ["homework"]
    assert person.availability == ["mon_evening", "sat_morning"]
    assert person.session_modes == ["in_person", "video"]
    consents = Consent.objects.filter(person=person)
    assert {c.purpose for c in consents} == {"case_management", "background_matching", "statistics"}
    assert {(c.given_by, c.language, c.recorded_by_id) for c in consents} == {
        ("Olena Kovalenko", "ro", coordinator.pk)
    }
    assert MentorStatusChange.objects.filter(mentor=olena, to_status=Mentor.Status.APPLIED).count() == 1
    mirela = Mentor.objects.get(person__last_name="Rostaș")
    assert mirela.capacity == 1
    assert mirela.person.migrant_background == "unknown"


def test_dry_run_reports_what_would_be_created_and_writes_nothing(programme, vocabularies):
    report = run(programme, MENTORS, csv_bytes(three_mentors()))

    assert not report.committed
    assert report.rows == 3
    assert report.good_rows == 3
    assert report.new_lines == [2, 3, 4]
    assert Person.objects.count() == 0


def bad_mentor_file() -> bytes:
    rows = three_mentors()
    rows.insert(1, mentor_row(email="not-an-email", capacity="4"))  # line 3
    rows.insert(3, mentor_row(email="amina@example.org", country_of_birth="XX", consents=""))  # line 5
    rows.append(
        mentor_row(email="b@example.org", cultural_backgrounds="klingon", other_languages="zz")
    )  # line 7
    return csv_bytes(rows)


def test_file_with_bad_rows_writes_nothing_and_lists_every_bad_row(programme, vocabularies):
    report = run(programme, MENTORS, bad_mentor_file(), commit=True)

    assert not report.committed
    assert Person.objects.count() == 0
    assert Mentor.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    problems = {(p.line, p.field) for p in report.problems}
    assert problems == {
        (3, "email"),
        (3, "capacity"),
        (5, "country_of_birth"),
        (5, "consents"),
        (7, "other_languages"),
        (7, "cultural_backgrounds"),
    }
    assert report.bad_lines == [3, 5, 7]
    assert report.good_rows == 3
    assert all(p.message for p in report.problems)


def test_good_rows_only_imports_just_the_good_rows(programme, vocabularies):
    report = run(programme, MENTORS, bad_mentor_file(), commit=True, good_rows_only=True)

    assert report.committed
    assert report.created["mentors"] == 3
    assert Mentor.objects.count() == 3
    assert not Person.objects.filter(
        email__in=["not-an-email", "amina@example.org", "b@example.org"]
    ).exists()
    assert report.bad_lines == [3, 5, 7]


def test_importing_the_same_mentor_file_twice_creates_no_duplicates(programme, vocabularies):
    content = csv_bytes(three_mentors())
    run(programme, MENTORS, content, commit=True)

    again = run(programme, MENTORS, content, commit=True)

    assert again.committed
    assert again.created == {"people": 0}
    assert [s.line for s in again.skipped] == [2, 3, 4]
    assert all("Already in the programme" in s.message for s in again.skipped)
    assert Person.objects.count() == 3
    assert Consent.objects.count() == 6
    assert AuditEvent.objects.filter(object_type="mentoring.Import").count() == 1


def test_mentor_already_entered_by_hand_is_recognised_by_email_in_any_case(programme, vocabularies):
    MentorFactory(programme=programme, person__email="Olena.Kovalenko@Example.org")

    report = run(programme, MENTORS, csv_bytes(three_mentors()[:1]))

    assert report.good_rows == 0
    assert report.skipped[0].line == 2


def test_same_person_twice_in_one_file_is_a_bad_row(programme, vocabularies):
    report = run(programme, MENTORS, csv_bytes([mentor_row(), mentor_row(first_name="Olenka")]))

    assert [(p.line, p.field) for p in report.problems] == [(3, "email")]
    assert "line 2" in report.problems[0].message


def test_mentor_row_matching_a_mentee_is_refused_rather_than_copied(programme, vocabularies):
    MenteeFactory(programme=programme, person__email="olena.kovalenko@example.org")

    report = run(programme, MENTORS, csv_bytes([mentor_row()]))

    assert [(p.line, p.field) for p in report.problems] == [(2, "email")]


def test_one_audit_event_per_import_holds_no_personal_values(programme, vocabularies, coordinator):
    people_import(
        programme=programme,
        kind=MENTORS,
        content=csv_bytes(three_mentors()),
        recorded_by=coordinator,
        commit=True,
    )

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == ("create", "mentoring.Import", "mentors:3")
    assert event.programme_id == programme.pk
    assert event.user == coordinator
    assert "Olena" not in str(event) and "@" not in event.object_id


def test_dry_run_queries_do_not_grow_with_the_rows(programme, vocabularies):
    def queries(count: int) -> int:
        rows = [mentor_row(email=f"m{i}@example.org") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            report = run(programme, MENTORS, csv_bytes(rows))
        assert report.good_rows == count
        return len(captured)

    assert queries(3) == queries(60)


def test_commit_writes_in_batches_not_per_row(programme, vocabularies):
    def queries(count: int) -> int:
        rows = [mentor_row(email=f"m{count}-{i}@example.org") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            report = run(programme, MENTORS, csv_bytes(rows), commit=True)
        assert report.created["mentors"] == count
        return len(captured)

    # SQLite splits an insert every ~50 people (999 parameters): a few batches, not a row each.
    assert queries(100) <= queries(3) + 10


def test_semicolon_separated_csv_from_excel_is_read(programme, vocabularies):
    content = b"\xef\xbb\xbf" + csv_bytes(three_mentors(), delimiter=";")

    report = run(programme, MENTORS, content, commit=True)

    assert report.committed and report.created["mentors"] == 3
    assert PersonLanguage.objects.filter(person__email="olena.kovalenko@example.org").count() == 3


def test_unknown_or_missing_columns_stop_the_whole_file(programme, vocabularies):
    rows = [{"first_name": "Ana", "surname": "Pop"}]

    report = run(programme, MENTORS, csv_bytes(rows), commit=True, good_rows_only=True)

    assert not report.committed
    assert {(p.line, p.field) for p in report.problems} == {(1, "surname"), (1, "last_name")}
    assert report.good_rows == 0


def test_file_that_is_not_utf8_is_refused_with_advice(programme):
    report = run(programme, MENTORS, "first_name,last_name\nZoë,Müller\n".encode("cp1252"))

    assert report.file_problems and "CSV UTF-8" in report.file_problems[0].message


@pytest.mark.parametrize(
    ("values", "spec_field", "column"),
    [
        ({"country_of_birth": "XX"}, "person.country_of_birth", "country_of_birth"),
        ({"email": "olena@"}, "person.email", "email"),
        ({"cultural_backgrounds": "klingon"}, "person.cultural_backgrounds", "cultural_backgrounds"),
        ({"needs": "astrology"}, "person.needs", "needs"),
        ({"consents": "case_management"}, "person.consents", "consents"),
        ({"first_name": ""}, "person.first_name", "first_name"),
    ],
)
def test_rows_are_refused_where_the_services_refuse(
    programme, vocabularies, coordinator, values, spec_field, column
):
    """The import checks without queries, so its rules are a copy: this keeps them in step."""
    row = mentor_row(**values)
    spec = PersonSpec(
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        country_of_birth=row["country_of_birth"],
        migrant_background=row["migrant_background"],
        languages=[LanguageSpec("uk", "native", True)],
        cultural_backgrounds=[c for c in row["cultural_backgrounds"].split(";") if c],
        needs=[n for n in row["needs"].split(";") if n],
        consents=[c.strip() for c in row["consents"].split(";") if c.strip()],
    )
    with pytest.raises(ValidationError) as refused:
        mentor_apply(programme=programme, person=spec, recorded_by=coordinator)
    assert spec_field in refused.value.message_dict

    report = run(programme, MENTORS, csv_bytes([row]))

    assert column in {p.field for p in report.problems}


def test_docstring_and_page_name_every_column():
    for columns in COLUMNS.values():
        for column in columns:
            assert column.name in mentoring.imports.__doc__


# Families ----------------------------------------------------------------------------------


def family_rows() -> list[dict]:
    common = {"referral_source": "school", "referrer_name": "Ms Pop", "referred_on": "2025-10-01"}
    return [
        {
            "family_reference": "FAM-0101",
            **common,
            "member_kind": "parent",
            "mentored": "yes",
            "first_name": "Iryna",
            "last_name": "Shevchenko",
            "country_of_birth": "UA",
            "migrant_background": "first_generation",
            "preferred_language": "uk",
            "preferred_language_level": "native",
            "other_languages": "ro:basic",
            "cultural_backgrounds": "ukrainian",
            "consents": "case_management; statistics",
        },
        {
            "family_reference": "FAM-0101",
            "member_kind": "pupil",
            "first_name": "Maksym",
            "last_name": "Shevchenko",
            "preferred_language": "uk",
            "consents": "case_management",
            "consent_given_by": "Iryna Shevchenko (mother)",
            "school": "Școala Gimnazială Nr. 5",
            "grade": "5B",
        },
        {
            "family_reference": "FAM-0101",
            "member_kind": "parent",
            "mentored": "no",
            "first_name": "Taras",
            "last_name": "Shevchenko",
        },
        {
            "family_reference": "FAM-0102",
            "referral_source": "community",
            "member_kind": "parent",
            "first_name": "Mirela",
            "last_name": "Lakatos",
            "cultural_backgrounds": "roma",
            "consents": "background_matching",
        },
    ]


def test_families_file_groups_members_into_families_with_mentees_and_schools(programme, vocabularies):
    report = run(programme, FAMILIES, csv_bytes(family_rows(), FAMILY_HEADER), commit=True)

    assert report.committed, report.problems
    assert report.created == {"people": 4, "families": 2, "mentees": 3, "schools": 1}
    family = Family.objects.get(reference="FAM-0101")
    assert family.referral_source == "school"
    assert family.referrer_name == "Ms Pop"
    assert family.referred_on == datetime.date(2025, 10, 1)
    mentees = {m.person.first_name: m for m in family.mentees.select_related("person", "school")}
    assert set(mentees) == {"Iryna", "Maksym"}
    assert mentees["Maksym"].kind == Mentee.Kind.PUPIL
    assert mentees["Maksym"].school.name == "Școala Gimnazială Nr. 5"
    assert mentees["Maksym"].grade == "5B"
    assert mentees["Maksym"].status == Mentee.Status.REFERRED
    assert mentees["Maksym"].referred_on == datetime.date(2025, 10, 1)
    assert Consent.objects.get(person=mentees["Maksym"].person).given_by == "Iryna Shevchenko (mother)"
    assert sorted(family.members.values_list("first_name", flat=True)) == ["Iryna", "Maksym", "Taras"]
    assert not Person.objects.filter(first_name="Taras", mentee__isnull=False).exists()
    assert School.objects.filter(programme=programme).count() == 1


def test_importing_the_same_families_twice_creates_no_duplicates_and_adds_new_members(
    programme, vocabularies
):
    rows = family_rows()
    run(programme, FAMILIES, csv_bytes(rows, FAMILY_HEADER), commit=True)
    rows.append(
        {
            "family_reference": "fam-0101",
            "member_kind": "pupil",
            "first_name": "Sofiia",
            "last_name": "Shevchenko",
        }
    )
    rows.append(
        {
            "family_reference": "FAM-0102",
            "member_kind": "parent",
            "mentored": "no",
            "first_name": "Gheorghe",
            "last_name": "Lakatos",
        }
    )

    again = run(programme, FAMILIES, csv_bytes(rows, FAMILY_HEADER), commit=True)

    assert again.committed, again.problems
    assert again.created == {"people": 2, "families": 0, "mentees": 1, "schools": 0}
    assert [s.line for s in again.skipped] == [2, 3, 4, 5]
    assert Family.objects.count() == 2
    assert Person.objects.count() == 6
    assert Family.objects.get(reference="FAM-0101").mentees.count() == 3
    assert Family.objects.get(reference="FAM-0102").members.count() == 2

    third = run(programme, FAMILIES, csv_bytes(rows, FAMILY_HEADER), commit=True)

    assert third.created == {"people": 0}
    assert len(third.skipped) == 6


def test_family_with_one_bad_row_is_refused_whole(programme, vocabularies):
    rows = family_rows()
    rows[1]["member_kind"] = "grandchild"  # line 3, family FAM-0101

    report = run(programme, FAMILIES, csv_bytes(rows, FAMILY_HEADER), commit=True, good_rows_only=True)

    assert report.committed
    assert {(p.line, p.field) for p in report.problems} == {
        (2, "family_reference"),
        (3, "member_kind"),
        (4, "family_reference"),
    }
    assert list(Family.objects.values_list("reference", flat=True)) == ["FAM-0102"]
    assert not Person.objects.filter(last_name="Shevchenko").exists()


def test_family_rows_that_disagree_or_refer_nobody_are_bad(programme, vocabularies):
    rows = family_rows()
    rows[1]["referral_source"] = "self"  # differs from line 2
    rows[3]["mentored"] = "no"  # FAM-0102 then has nobody to mentor

    report = run(programme, FAMILIES, csv_bytes(rows, FAMILY_HEADER))

    fields = {(p.line, p.field) for p in report.problems}
    assert (3, "referral_source") in fields
    assert (5, "mentored") in fields


def test_xlsx_file_imports_with_date_and_number_cells(programme, vocabularies):
    header = [
        "Family reference",
        "Referral source",
        "Referred on",
        "Member kind",
        "First name",
        "Last name",
        "Grade",
    ]
    content = xlsx_bytes(
        [
            header,
            ["FAM-0201", "school", datetime.datetime(2025, 10, 3), "parent", "Fatima", "Haddad", None],
            [],
            ["FAM-0201", None, None, "pupil", "Omar", "Haddad", 6],
        ]
    )

    report = run(programme, FAMILIES, content, filename="families.xlsx", commit=True)

    assert report.committed, report.problems
    assert report.new_lines == [2, 4]
    family = Family.objects.get(reference="FAM-0201")
    assert family.referred_on == datetime.date(2025, 10, 3)
    assert family.mentees.get(person__first_name="Omar").grade == "6"


def test_xlsx_mentor_file_reports_bad_rows_by_spreadsheet_line(programme, vocabularies):
    content = xlsx_bytes(
        [
            MENTOR_HEADER,
            [mentor_row()[name] for name in MENTOR_HEADER],
            [mentor_row(email="x@example.org", capacity=9)[name] for name in MENTOR_HEADER],
        ]
    )

    report = run(programme, MENTORS, content, filename="mentors.xlsx")

    assert [(p.line, p.field) for p in report.problems] == [(3, "capacity")]
    assert report.good_rows == 1


# The upload page ---------------------------------------------------------------------------


def upload(client, programme, content: bytes, *, name="mentors.csv", kind=MENTORS):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("people-import"), {"programme": programme.pk, "kind": kind, "file": file})


def test_coordinator_checks_a_file_then_imports_it(client, programme, vocabularies, coordinator):
    client.force_login(coordinator)
    assert client.get(reverse("people-import")).status_code == 200

    checked = upload(client, programme, csv_bytes(three_mentors()))

    assert checked.status_code == 200
    assert checked.context["report"].good_rows == 3
    assert Person.objects.count() == 0
    assert "Import all" in checked.content.decode()
    token = checked.context["pending"]["token"]

    done = client.post(reverse("people-import-commit"), {"token": token, "mode": "all"}, follow=True)

    assert done.status_code == 200
    assert Mentor.objects.filter(programme=programme).count() == 3
    assert "3 mentors imported" in done.content.decode()
    event = AuditEvent.objects.get(object_type="mentoring.Import")
    assert event.path == reverse("people-import-commit")


def test_page_lists_bad_rows_and_offers_only_the_good_rows(client, programme, vocabularies, coordinator):
    client.force_login(coordinator)

    checked = upload(client, programme, bad_mentor_file())

    html = checked.content.decode()
    assert "Import the 3 good rows" in html
    assert 'value="all" class="button" disabled' in html
    assert checked.context["report"].bad_lines == [3, 5, 7]
    for line, column in [(3, "email"), (3, "capacity"), (5, "country_of_birth"), (7, "cultural_backgrounds")]:
        assert f'<td class="num">{line}</td><td>{column}</td>' in html
    token = checked.context["pending"]["token"]

    refused = client.post(reverse("people-import-commit"), {"token": token, "mode": "all"})
    assert refused.status_code == 400
    assert Person.objects.count() == 0

    client.post(reverse("people-import-commit"), {"token": token, "mode": "good"})
    assert Mentor.objects.count() == 3


def test_commit_needs_the_token_of_this_users_check(client, programme, vocabularies, coordinator):
    client.force_login(coordinator)
    upload(client, programme, csv_bytes(three_mentors()))

    client.post(reverse("people-import-commit"), {"token": "guessed", "mode": "all"})

    assert Person.objects.count() == 0


def test_families_upload_as_xlsx(client, programme, vocabularies, coordinator):
    client.force_login(coordinator)
    content = xlsx_bytes(
        [FAMILY_HEADER, *[[row.get(name) for name in FAMILY_HEADER] for row in family_rows()]]
    )

    checked = upload(client, programme, content, name="families.xlsx", kind=FAMILIES)
    client.post(
        reverse("people-import-commit"), {"token": checked.context["pending"]["token"], "mode": "all"}
    )

    assert Family.objects.filter(programme=programme).count() == 2


def test_coordinator_of_another_programme_gets_404(client, programme, other_coordinator, vocabularies):
    client.force_login(other_coordinator)

    assert upload(client, programme, csv_bytes(three_mentors())).status_code == 404
    assert client.get(reverse("people-import"), {"programme": programme.pk}).status_code == 404
    assert Person.objects.count() == 0


@pytest.mark.parametrize("role", ["manager", "mentor"])
def test_other_roles_get_404(client, programme, manager, role):
    user = manager if role == "manager" else UserFactory(role="mentor")
    client.force_login(user)

    assert client.get(reverse("people-import")).status_code == 404
    assert upload(client, programme, csv_bytes(three_mentors())).status_code == 404
    assert client.post(reverse("people-import-commit"), {"token": "x", "mode": "all"}).status_code == 404


# The command -------------------------------------------------------------------------------


def test_command_commits_a_good_file(tmp_path, programme, vocabularies):
    path = tmp_path / "mentors.csv"
    path.write_bytes(csv_bytes(three_mentors()))
    out = io.StringIO()

    call_command("import_people", str(path), programme=programme.slug, kind=MENTORS, commit=True, stdout=out)

    assert Mentor.objects.count() == 3
    assert "mentors 3" in out.getvalue()


def test_command_exits_non_zero_listing_bad_rows_when_asked_to_commit(tmp_path, programme, vocabularies):
    path = tmp_path / "mentors.csv"
    path.write_bytes(bad_mentor_file())
    out = io.StringIO()

    with pytest.raises(CommandError, match="3 bad rows"):
        call_command(
            "import_people", str(path), programme=programme.slug, kind=MENTORS, commit=True, stdout=out
        )

    assert "line 3: email:" in out.getvalue()
    assert "line 7: cultural_backgrounds:" in out.getvalue()
    assert Person.objects.count() == 0


def test_command_exit_status_is_1_on_bad_rows(tmp_path, programme, vocabularies):
    path = tmp_path / "mentors.csv"
    path.write_bytes(bad_mentor_file())
    from mentoring.management.commands.import_people import Command

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(
            [
                "manage.py",
                "import_people",
                str(path),
                "--programme",
                programme.slug,
                "--kind",
                MENTORS,
                "--commit",
            ]
        )

    assert exited.value.code == 1


def test_command_imports_good_rows_only_when_asked(tmp_path, programme, vocabularies):
    path = tmp_path / "mentors.csv"
    path.write_bytes(bad_mentor_file())

    call_command(
        "import_people",
        str(path),
        programme=programme.slug,
        kind=MENTORS,
        commit=True,
        good_rows_only=True,
        stdout=io.StringIO(),
    )

    assert Mentor.objects.count() == 3


def test_a_check_left_unconfirmed_expires(client, programme, vocabularies, coordinator, monkeypatch):
    client.force_login(coordinator)
    checked = upload(client, programme, csv_bytes(three_mentors()))
    later = time.time() + 2 * 60 * 60
    monkeypatch.setattr("mentoring.import_views.time.time", lambda: later)

    client.post(
        reverse("people-import-commit"), {"token": checked.context["pending"]["token"], "mode": "all"}
    )

    assert Person.objects.count() == 0


def test_row_without_email_is_recognised_by_name_and_phone(programme, vocabularies):
    MentorFactory(
        programme=programme,
        person__first_name="Olena",
        person__last_name="Kovalenko",
        person__email="olena@example.org",
        person__phone="+40722123456",
    )

    report = run(programme, MENTORS, csv_bytes([mentor_row(email="", phone="+40 722 123 456")]))

    assert report.good_rows == 0
    assert [s.line for s in report.skipped] == [2]
