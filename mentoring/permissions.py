"""Who may do what in which programme (``domain.md``, "Roles and permissions").

Staff are assigned to programmes with django-guardian object permissions on ``Programme``:
coordinators hold ``coordinate_programme``, managers ``read_programme_reports``. Admins
(superusers or the admin role) see everything. Mentors reach only their own matches.
"""

from __future__ import annotations

from django.db.models import QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user

from mentoring.models import Programme, User

COORDINATE = "mentoring.coordinate_programme"
READ_REPORTS = "mentoring.read_programme_reports"

ROLE_PERMISSIONS = {
    User.Role.COORDINATOR: (COORDINATE, READ_REPORTS),
    User.Role.MANAGER: (READ_REPORTS,),
}


def programmes_with_perm(*, user: User, perm: str) -> QuerySet[Programme]:
    if not user.is_authenticated:
        return Programme.objects.none()
    if user.is_admin:
        return Programme.objects.all()
    if user.role not in ROLE_PERMISSIONS or perm not in ROLE_PERMISSIONS[user.role]:
        return Programme.objects.none()
    return get_objects_for_user(user, perm, klass=Programme, accept_global_perms=False)


def coordinated_programmes(*, user: User) -> QuerySet[Programme]:
    return programmes_with_perm(user=user, perm=COORDINATE)


def reported_programmes(*, user: User) -> QuerySet[Programme]:
    return programmes_with_perm(user=user, perm=READ_REPORTS)


def is_coordinator_of(*, user: User, programme_id: int) -> bool:
    return coordinated_programmes(user=user).filter(pk=programme_id).exists()


def grant_programme_role(*, user: User, programme: Programme) -> None:
    for perm in ROLE_PERMISSIONS.get(user.role, ()):
        assign_perm(perm, user, programme)


def programme_coordinators(*, programme: Programme) -> QuerySet[User]:
    """The active coordinators of ``programme`` (who hold ``coordinate_programme`` on it)."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    holders = UserObjectPermission.objects.filter(
        content_type=ContentType.objects.get_for_model(Programme),
        object_pk=str(programme.pk),
        permission__codename=COORDINATE.split(".")[1],
    ).values("user_id")
    return User.objects.filter(pk__in=holders, is_active=True, role=User.Role.COORDINATOR).order_by("pk")
