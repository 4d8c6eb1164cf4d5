from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django_fsm.admin import FSMAdminMixin

from cases.models import Case, CaseEvent, CaseNote, RemediationStep
from cases.services import CaseConflict, case_transition
from config.admin import ReadOnlyAdminMixin
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


class RemediationStepInline(admin.TabularInline):
    model = RemediationStep
    fields = ["text", "owner", "due_on", "done_at"]
    readonly_fields = ["done_at"]
    extra = 0


@admin.register(Case)
class CaseAdmin(FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["status"]
    fsm_forms = {"resolve": ReasonForm, "escalate": ReasonForm, "reinstate": ReasonForm}
    list_display = [
        "id",
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
        "status",
        "severity",
        "policy_area",
        "assured",
        "seller__store",
        "escalation_reason",
    ]
    search_fields = ["seller__seller_id", "upstream_id", "summary"]
    list_select_related = ["seller", "assigned_to"]
    raw_id_fields = ["seller"]
    date_hierarchy = "opened_at"
    show_full_result_count = False
    inlines = [RemediationStepInline, ContactAttemptInline, CaseEventInline]
    readonly_fields = [
        "status",
        "assured",
        "opened_at",
        "reach_deadline",
        "first_attempt_at",
        "contacted_at",
        "sla_met",
        "remediation_started_at",
        "resolved_at",
        "resolution_reason",
        "escalated_at",
        "escalation_reason",
        "escalation_note",
        "reinstated_at",
        "last_seller_activity_at",
        "next_action_at",
        "outreach_started_at",
        "call_rounds",
        "deadline_warnings",
        "inactivity_warned_at",
    ]

    def get_fsm_label(self, transition) -> str:
        return transition.custom.get("label") or transition.name

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
class CaseNoteAdmin(admin.ModelAdmin):
    list_display = ["created_at", "case", "author"]
    search_fields = ["case__id", "text"]
    raw_id_fields = ["case"]
    readonly_fields = ["author", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


admin.site.unregister(ContactAttempt)


@admin.register(ContactAttempt)
class ContactAttemptAdmin(BaseContactAttemptAdmin):
    """Attempts found by the case and seller they are about: the link is this app's."""

    search_fields = [*BaseContactAttemptAdmin.search_fields, "case__seller__seller_id"]
