"""Cases in Django admin: read, fire transitions, reassign and correct through the services.

Nothing here writes a case by hand. The fields a rule reads (seller, kind, status,
assurance, deadlines and the first-attempt target, timers, upstream id, assignee) are
read-only for everybody; a manager reassigns through ``case_assign`` (the "Reassign to"
field) and corrects the description through ``case_correct`` (``cases.correct_case``);
each change is an event on the trail. Plan steps and notes are written on the desk, with
their events; the trail, and the case it protects, are never deleted.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django_fsm.admin import FSMAdminMixin

from accounts.models import User
from cases.forms import SpecialistChoiceField
from cases.models import Case, CaseEvent, CaseNote, RemediationStep
from cases.services import (
    CORRECTABLE_FIELDS,
    TRANSITIONS,
    CaseConflict,
    case_assign,
    case_correct,
    case_transition,
)
from config.admin import ReadOnlyAdminMixin
from config.errors import InvalidInput
from notifications.admin import ContactAttemptAdmin as BaseContactAttemptAdmin
from notifications.models import ContactAttempt


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=True)


class CaseEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The audit trail: read-only for everybody, admins included."""

    model = CaseEvent
    fields = [
        "created_at",
        "kind",
        "transition",
        "from_status",
        "to_status",
        "actor",
        "actor_process",
        "reason",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "id"]


class ContactAttemptInline(ReadOnlyAdminMixin, GenericTabularInline):
    """Calls, texts and emails: a record of what was sent, never edited by hand."""

    model = ContactAttempt
    ct_field = "subject_type"
    ct_fk_field = "subject_id"
    fields = [
        "created_at",
        "channel",
        "purpose",
        "destination",
        "status",
        "outcome",
        "tries",
        "error",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "id"]


class RemediationStepInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The plan the seller sees: added and ticked on the desk, each change an event."""

    model = RemediationStep
    fields = ["text", "owner", "due_on", "done_at"]
    readonly_fields = fields
    extra = 0


class CaseAdminForm(forms.ModelForm):
    """The case's change form; "Reassign to" (managers) is saved through ``case_assign``."""

    reassign_to = SpecialistChoiceField(
        label="Reassign to",
        queryset=User.objects.filter(specialist__isnull=False, is_active=True).order_by(
            "first_name", "last_name", "username"
        ),
        required=False,
        empty_label="(keep the assignee)",
        help_text="Only specialists; the reassignment is an event on the case's trail.",
    )


@admin.register(Case)
class CaseAdmin(FSMAdminMixin, admin.ModelAdmin):
    form = CaseAdminForm
    fsm_fields = ["status"]
    fsm_forms = {"resolve": ReasonForm, "escalate": ReasonForm, "reinstate": ReasonForm}
    list_display = [
        "id",
        "kind",
        "seller",
        "policy_area",
        "severity",
        "status",
        "assured",
        "assigned_to",
        "reach_deadline",
        "opened_at",
    ]
    list_filter = [
        "kind",
        "status",
        "severity",
        "policy_area",
        "assured",
        "seller__store",
        "escalation_reason",
    ]
    search_fields = ["seller__seller_id", "upstream_id", "summary"]
    list_select_related = ["seller", "assigned_to"]
    date_hierarchy = "opened_at"
    show_full_result_count = False
    inlines = [RemediationStepInline, ContactAttemptInline, CaseEventInline]
    fieldsets = [
        (None, {"fields": ["seller", "kind", "upstream_id", "status", "assured", "assigned_to"]}),
        ("Reassign", {"fields": ["reassign_to"]}),
        ("Description", {"fields": list(CORRECTABLE_FIELDS)}),
        (
            "Deadline and milestones",
            {
                "fields": [
                    *Case.MILESTONE_FIELDS,
                    "escalation_note",
                    "reinstated_at",
                    "last_seller_activity_at",
                ]
            },
        ),
        (
            "Timers",
            {
                "fields": [
                    "next_action_at",
                    "outreach_started_at",
                    "call_rounds",
                    "deadline_warnings",
                    "inactivity_warned_at",
                    "updated_at",
                ]
            },
        ),
    ]
    # Every field a rule reads, for everybody: only the services change them.
    readonly_fields = [
        name
        for _, options in fieldsets
        for name in options["fields"]
        if name not in {"reassign_to", *CORRECTABLE_FIELDS}
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A case opens through case_open (desk, API): assured or not, assigned, an event.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Its trail protects a case (CaseEvent.case is PROTECT): it is never deleted.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Case | None = None) -> tuple:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("cases.correct_case"):
            readonly.extend(CORRECTABLE_FIELDS)
        return tuple(readonly)

    def get_fieldsets(self, request: HttpRequest, obj: Case | None = None) -> list:
        if request.user.has_perm("cases.assign_case"):
            return self.fieldsets
        return [fieldset for fieldset in self.fieldsets if fieldset[0] != "Reassign"]

    def get_form(self, request: HttpRequest, obj: Case | None = None, **kwargs: object):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.has_perm("cases.assign_case"):
            form.base_fields.pop("reassign_to", None)
        return form

    def save_model(self, request: HttpRequest, obj: Case, form, change: bool) -> None:
        """No save by hand: a correction and a reassignment go through their services,
        each one an event; the form's other fields are all read-only."""
        corrections = {
            field: form.cleaned_data[field]
            for field in CORRECTABLE_FIELDS
            if field in form.changed_data
        }
        reassign_to = form.cleaned_data.get("reassign_to")
        try:
            if corrections:
                case_correct(case_id=obj.pk, by=request.user, changes=corrections)
            if reassign_to is not None:
                case_assign(case_id=obj.pk, to=reassign_to, by=request.user)
        except InvalidInput as error:
            self.message_user(request, str(error), level=messages.ERROR)

    def get_fsm_label(self, transition) -> str:
        return transition.custom.get("label") or transition.name

    def _get_fsm_transition_func(self, *, obj: Case, transition_name: str):
        # Anything but a transition's name (a typo, "save", a field) is not a page: 404.
        if transition_name not in TRANSITIONS:
            raise Http404(f"No transition is called {transition_name!r}.")
        return super()._get_fsm_transition_func(obj=obj, transition_name=transition_name)

    def _apply_fsm_transition(
        self, *, obj: Case, transition_name: str, request: HttpRequest, kwargs=None
    ) -> bool:
        """Admin buttons go through the same service as the desk and the API."""
        try:
            case_transition(
                case_id=obj.pk,
                name=transition_name,
                by=request.user,
                reason=(kwargs or {}).get("reason", ""),
            )
        except (CaseConflict, PermissionDenied) as error:
            self.message_user(request, str(error), level=messages.ERROR)
            return False
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), level=messages.ERROR)
            return False
        self.message_user(
            request, f"Case {obj.pk}: {transition_name.replace('_', ' ')} done.", messages.SUCCESS
        )
        return True


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "case",
        "kind",
        "transition",
        "from_status",
        "to_status",
        "actor",
        "actor_process",
    ]
    list_filter = ["kind", "transition"]
    search_fields = ["case__id", "case__seller__seller_id"]
    list_select_related = ["case__seller", "actor"]
    show_full_result_count = False


@admin.register(CaseNote)
class CaseNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Notes are added on the desk (each one an event with its text): read here, never
    written or deleted, or the trail and the notes would tell different stories."""

    list_display = ["created_at", "case", "author"]
    search_fields = ["case__id", "text"]
    list_select_related = ["case__seller", "author"]


admin.site.unregister(ContactAttempt)


@admin.register(ContactAttempt)
class ContactAttemptAdmin(BaseContactAttemptAdmin):
    """Attempts found by the case and seller they are about: the link is this app's."""

    search_fields = [*BaseContactAttemptAdmin.search_fields, "case__seller__seller_id"]
