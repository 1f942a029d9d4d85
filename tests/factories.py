"""factory-boy factories with values that look like a real programme's."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from matching.models import Match
from mentoring.models import (
    Consent,
    ConsentPurpose,
    CulturalBackground,
    Family,
    LanguageLevel,
    Mentee,
    Mentor,
    MigrantBackground,
    Organisation,
    Person,
    PersonLanguage,
    Programme,
    ReferralSource,
    School,
    User,
)
from mentoring.permissions import grant_programme_role
from reports.models import ReportSnapshot
from sessions.models import SessionLog, SessionMode

TODAY = datetime.date.today


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Iterator(
        ["Asociația Părinți Împreună", "Stichting Samen Ouders", "Associação Pais em Rede"]
    )


class ProgrammeFactory(DjangoModelFactory):
    class Meta:
        model = Programme

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Parent mentoring, Baia Mare {2025 + n % 3}–{26 + n % 3} #{n}")
    slug = factory.Sequence(lambda n: f"baia-mare-{n}")
    country = "RO"
    local_language = "ro"
    small_cell_k = 10


class CulturalBackgroundFactory(DjangoModelFactory):
    class Meta:
        model = CulturalBackground
        django_get_or_create = ("programme", "code")

    programme = factory.SubFactory(ProgrammeFactory)
    code = factory.Iterator(["roma", "hungarian", "ukrainian", "syrian", "turkish"])
    name = factory.LazyAttribute(lambda o: o.code.capitalize())


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = User.Role.MENTOR
    password = factory.django.Password("tandem-test-pass")

    @factory.post_generation
    def programmes(self, create, extracted, **kwargs):
        """``UserFactory(role=coordinator, programmes=[p])`` assigns the role in ``p``."""
        if create and extracted:
            for programme in extracted:
                grant_programme_role(user=self, programme=programme)


class CoordinatorFactory(UserFactory):
    role = User.Role.COORDINATOR
    username = factory.Sequence(lambda n: f"coordinator{n}")


class ManagerFactory(UserFactory):
    role = User.Role.MANAGER
    username = factory.Sequence(lambda n: f"manager{n}")


class AdminFactory(UserFactory):
    role = User.Role.ADMIN
    is_staff = True
    is_superuser = True
    username = factory.Sequence(lambda n: f"admin{n}")


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    programme = factory.SubFactory(ProgrammeFactory)
    first_name = factory.Iterator(["Ana", "Mihai", "Fatima", "Olena", "Kiros", "Zsófia", "Ahmet", "Mirela"])
    last_name = factory.Iterator(
        ["Pop", "Lakatos", "Haddad", "Kovalenko", "Tesfay", "Kovács", "Yılmaz", "Rostaș"]
    )
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    migrant_background = MigrantBackground.FIRST_GENERATION
    country_of_birth = "UA"
    municipality = "Baia Mare"
    postcode = "430000"

    @factory.post_generation
    def languages(self, create, extracted, **kwargs):
        """``languages=[("uk", "native"), ("ro", "basic")]``; the first is preferred."""
        if not create:
            return
        spec = (
            extracted
            if extracted is not None
            else [("uk", LanguageLevel.NATIVE), ("ro", LanguageLevel.BASIC)]
        )
        for i, (code, level) in enumerate(spec):
            PersonLanguage.objects.create(person=self, language=code, level=level, is_preferred=i == 0)

    @factory.post_generation
    def backgrounds(self, create, extracted, **kwargs):
        """``backgrounds=["ukrainian"]`` codes from the programme's vocabulary."""
        if create and extracted:
            for code in extracted:
                cb, _ = CulturalBackground.objects.get_or_create(
                    programme=self.programme, code=code, defaults={"name": code.capitalize()}
                )
                self.cultural_backgrounds.add(cb)

    @factory.post_generation
    def consents(self, create, extracted, **kwargs):
        """By default a person has consented to every purpose; ``consents=[]`` for none."""
        if not create:
            return
        purposes = ConsentPurpose.values if extracted is None else extracted
        for purpose in purposes:
            Consent.objects.create(person=self, purpose=purpose, given_by=self.first_name, language="en")


class ConsentFactory(DjangoModelFactory):
    class Meta:
        model = Consent

    person = factory.SubFactory(PersonFactory, consents=[])
    purpose = ConsentPurpose.CASE_MANAGEMENT
    given_by = factory.LazyAttribute(lambda o: o.person.full_name)
    language = "en"


class MentorFactory(DjangoModelFactory):
    """``MentorFactory()`` is an applicant; ``MentorFactory(approved=True)`` can be matched."""

    class Meta:
        model = Mentor

    programme = factory.SubFactory(ProgrammeFactory)
    person = factory.SubFactory(PersonFactory, programme=factory.SelfAttribute("..programme"))
    user = factory.SubFactory(
        UserFactory,
        role=User.Role.MENTOR,
        username=factory.Sequence(lambda n: f"mentor{n}"),
    )
    capacity = 2
    applied_on = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=120))

    class Params:
        approved = factory.Trait(
            status=Mentor.Status.APPROVED,
            record_check_on=factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=90)),
            record_check_expires_on=factory.LazyFunction(lambda: TODAY() + datetime.timedelta(days=640)),
            training_completed_on=factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=60)),
            approved_on=factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=50)),
        )


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School
        django_get_or_create = ("programme", "name")

    programme = factory.SubFactory(ProgrammeFactory)
    name = factory.Iterator(
        ["Școala Gimnazială Nr. 5", "Liceul Teoretic Emil Racoviță", "Școala Gimnazială Nr. 14"]
    )
    municipality = "Baia Mare"


class FamilyFactory(DjangoModelFactory):
    class Meta:
        model = Family

    programme = factory.SubFactory(ProgrammeFactory)
    reference = factory.Sequence(lambda n: f"FAM-{n:04d}")
    referral_source = ReferralSource.SCHOOL
    referred_on = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=40))


class MenteeFactory(DjangoModelFactory):
    """A parent waiting for a mentor; ``kind=Mentee.Kind.PUPIL`` for a child."""

    class Meta:
        model = Mentee

    programme = factory.SubFactory(ProgrammeFactory)
    family = factory.SubFactory(FamilyFactory, programme=factory.SelfAttribute("..programme"))
    person = factory.SubFactory(PersonFactory, programme=factory.SelfAttribute("..programme"))
    kind = Mentee.Kind.PARENT
    status = Mentee.Status.WAITING
    referred_on = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=40))
    intake_completed_on = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=30))
    waiting_since = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=30))


class MatchFactory(DjangoModelFactory):
    """An active match between an approved mentor and a mentee of one programme."""

    class Meta:
        model = Match

    programme = factory.SubFactory(ProgrammeFactory)
    mentor = factory.SubFactory(MentorFactory, programme=factory.SelfAttribute("..programme"), approved=True)
    mentee = factory.SubFactory(
        MenteeFactory, programme=factory.SelfAttribute("..programme"), status=Mentee.Status.MATCHED
    )
    status = Match.Status.ACTIVE
    started_on = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=20))


class SessionLogFactory(DjangoModelFactory):
    class Meta:
        model = SessionLog

    match = factory.SubFactory(MatchFactory)
    author = factory.LazyAttribute(lambda o: o.match.mentor.user)
    held_on = factory.LazyFunction(lambda: TODAY() - datetime.timedelta(days=3))
    duration_minutes = 60
    mode = SessionMode.IN_PERSON
    participants = factory.LazyFunction(lambda: ["parent", "pupil"])
    topics = factory.LazyFunction(lambda: ["homework", "parent_teacher"])
    language = "uk"
    notes = "Went through the school's homework platform together."


class ReportSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = ReportSnapshot

    programme = factory.SubFactory(ProgrammeFactory)
    parameters_key = factory.Sequence(lambda n: f"{n:064d}")
    status = ReportSnapshot.Status.DONE
    progress = 100
    generated_at = factory.LazyFunction(timezone.now)
    data_as_of = factory.LazyFunction(timezone.now)


class ConcernFactory(DjangoModelFactory):
    """An open concern a match's mentor raised about its mentee."""

    class Meta:
        model = "mentoring_sessions.Concern"

    programme = factory.SubFactory(ProgrammeFactory)
    match = factory.SubFactory(MatchFactory, programme=factory.SelfAttribute("..programme"))
    mentee = factory.LazyAttribute(lambda o: o.match.mentee)
    raised_by = factory.LazyAttribute(lambda o: o.match.mentor.user)
    kind = "well_being"
    severity = "medium"
    description = "The mother said she has not slept for days and worries about the rent."


class ProposedMatchFactory(MatchFactory):
    """A match a coordinator proposed: the mentor has not answered, the mentee is still waiting."""

    mentee = factory.SubFactory(
        MenteeFactory, programme=factory.SelfAttribute("..programme"), status=Mentee.Status.WAITING
    )
    status = Match.Status.PROPOSED
    started_on = None


class MatchExclusionFactory(DjangoModelFactory):
    """A pair of one programme that must never be matched."""

    class Meta:
        model = "matching.MatchExclusion"

    programme = factory.SubFactory(ProgrammeFactory)
    mentor = factory.SubFactory(MentorFactory, programme=factory.SelfAttribute("..programme"), approved=True)
    mentee = factory.SubFactory(MenteeFactory, programme=factory.SelfAttribute("..programme"))
    reason = "relative"
    note = "The mentor is the mother's cousin."
