from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from guardian.admin import GuardedModelAdmin
from modeltranslation.admin import TranslationAdmin

from mentoring.models import (
    AuditEvent,
    Consent,
    CulturalBackground,
    Family,
    Mentee,
    Mentor,
    MentorReference,
    MentorStatusChange,
    Need,
    Organisation,
    Person,
    PersonLanguage,
    Programme,
    School,
    SelfAssessment,
    SelfAssessmentQuestion,
    TaskOutbox,
    TrainingRecord,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_superuser")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Tandem", {"fields": ("role", "interface_language")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Tandem", {"fields": ("role",)}))


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Programme)
class ProgrammeAdmin(GuardedModelAdmin):
    list_display = ("name", "organisation", "country", "local_language", "small_cell_k")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(CulturalBackground)
class CulturalBackgroundAdmin(TranslationAdmin):
    """One label per interface language (``name_en``, ``name_nl``, ...)."""

    list_display = ("name", "code", "programme")
    list_filter = ("programme",)


class PersonLanguageInline(admin.TabularInline):
    model = PersonLanguage
    extra = 0


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ("purpose", "given_by", "given_at", "language", "withdrawn_at")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "programme", "migrant_background")
    list_filter = ("programme", "migrant_background")
    search_fields = ("last_name", "first_name", "email")
    inlines = [PersonLanguageInline, ConsentInline]
    filter_horizontal = ("cultural_backgrounds", "needs")
    list_select_related = ("programme",)


class MentorReferenceInline(admin.TabularInline):
    model = MentorReference
    extra = 0
    exclude = ("recorded_by",)


class TrainingRecordInline(admin.TabularInline):
    model = TrainingRecord
    extra = 0
    exclude = ("recorded_by",)


class SelfAssessmentInline(admin.TabularInline):
    model = SelfAssessment
    extra = 0


class MentorStatusChangeInline(admin.TabularInline):
    model = MentorStatusChange
    extra = 0
    readonly_fields = ("from_status", "to_status", "changed_by", "changed_at", "note")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Need)
class NeedAdmin(TranslationAdmin):
    """One label per interface language (``name_en``, ``name_nl``, ...)."""

    list_display = ("name", "code", "programme")
    list_filter = ("programme",)


@admin.register(SelfAssessmentQuestion)
class SelfAssessmentQuestionAdmin(admin.ModelAdmin):
    list_display = ("text", "programme", "order", "is_active")
    list_filter = ("programme", "is_active")


@admin.register(Mentor)
class MentorAdmin(admin.ModelAdmin):
    inlines = [MentorReferenceInline, TrainingRecordInline, SelfAssessmentInline, MentorStatusChangeInline]
    list_display = ("person", "programme", "status", "capacity", "record_check_expires_on")
    list_filter = ("programme", "status")
    search_fields = ("person__last_name", "person__first_name")
    raw_id_fields = ("person", "user")
    list_select_related = ("person", "programme")


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "municipality", "programme")
    list_filter = ("programme",)


@admin.register(Family)
class FamilyAdmin(admin.ModelAdmin):
    list_display = ("reference", "programme", "referral_source", "referred_on")
    list_filter = ("programme", "referral_source")
    search_fields = ("reference",)


@admin.register(Mentee)
class MenteeAdmin(admin.ModelAdmin):
    list_display = ("person", "kind", "status", "family", "programme", "waiting_since")
    list_filter = ("programme", "status", "kind")
    search_fields = ("person__last_name", "person__first_name", "family__reference")
    raw_id_fields = ("person", "family", "school")
    list_select_related = ("person", "family", "programme")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Searchable, read-only: the trail is append-only."""

    list_display = ("at", "user", "role", "action", "object_type", "object_id", "ip_address")
    list_filter = ("action", "role", "object_type")
    search_fields = ("object_type", "object_id", "user__username", "path")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaskOutbox)
class TaskOutboxAdmin(admin.ModelAdmin):
    """Read-only: rows are written by ``mentoring.outbox`` and sent again by its sweeper. An unsent
    row with many attempts (or ``NotRegistered``) is the one to look at."""

    list_display = ("created_at", "task_name", "args", "sent_at", "attempts", "last_error")
    list_filter = ("task_name", ("sent_at", admin.EmptyFieldListFilter))
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
