"""Sellers in Django admin. Titles name a seller by the marketplace's id (``seller_id``).

What the evaluation and the notices write (band changes, the notification centre) is a
record, read here and never edited. A seller's notification preferences are the seller's
own choice, made on the portal: staff read them (to answer "why did I get no email?")
but do not change them, so a change is always the seller's.
"""

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from config.admin import ReadOnlyAdminMixin
from sellers.models import (
    AccountHealthSnapshot,
    AssuranceState,
    BandChange,
    EmergencyContact,
    EnrollmentEvent,
    NotificationPreferences,
    PhoneVerification,
    Seller,
    SellerNotification,
    Store,
    Violation,
)
from sellers.services import assurance_evaluate
from sellers.services.verification import masked


def protected(obj: models.Model) -> bool:
    """Whether rows that PROTECT ``obj`` refer to it (a seller's cases, its enrollment
    history): deleting it would be refused, so Delete is not offered."""
    return any(
        relation.related_model._base_manager.filter(**{relation.field.name: obj}).exists()
        for relation in obj._meta.related_objects
        if relation.on_delete is models.PROTECT
    )


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "language", "aha_enabled", "seller_count"]
    list_filter = ["aha_enabled", "language"]
    search_fields = ["code", "name"]

    @admin.display(description="Sellers")
    def seller_count(self, store: Store) -> int:
        return store.sellers.count()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EmergencyContactInline(admin.StackedInline):
    model = EmergencyContact
    fields = ["phone", "verified_at", "verified_by", "verified_by_user"]
    readonly_fields = ["verified_by_user"]
    extra = 0


class ViolationInline(admin.TabularInline):
    model = Violation
    fields = ["policy_area", "severity", "points", "opened_on", "resolved_on", "status"]
    extra = 0


class EnrollmentEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EnrollmentEvent
    fields = ["created_at", "kind", "effective_on", "reason", "emailed_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["seller_id", "name", "store", "account_type", "enrolled", "latest_ahr"]
    list_filter = ["store", "account_type", "assurance__enrolled", "assurance__eligible"]
    search_fields = ["seller_id", "name", "email"]
    list_select_related = ["store", "assurance"]
    filter_horizontal = ["users"]
    readonly_fields = ["created_at", "updated_at", "assurance_summary"]
    inlines = [EmergencyContactInline, ViolationInline, EnrollmentEventInline]
    show_full_result_count = False

    @admin.display(boolean=True, description="Enrolled", ordering="assurance__enrolled")
    def enrolled(self, seller: Seller) -> bool:
        state = getattr(seller, "assurance", None)
        return bool(state and state.enrolled)

    @admin.display(description="AHR", ordering="assurance__latest_score")
    def latest_ahr(self, seller: Seller) -> int | None:
        state = getattr(seller, "assurance", None)
        return state.latest_score if state else None

    @admin.display(description="Assurance")
    def assurance_summary(self, seller: Seller) -> str:
        state = getattr(seller, "assurance", None)
        if state is None:
            return "Not evaluated yet."
        status = f"Enrolled since {state.enrolled_since}" if state.enrolled else "Not enrolled"
        return (
            f"{status}; "
            f"evaluated on {state.evaluated_on}; {state.days_below_threshold} days below "
            f"the threshold since {state.window_start}; latest AHR {state.latest_score}."
        )

    def has_delete_permission(self, request: HttpRequest, obj: Seller | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (
            obj is not None and protected(obj)
        )

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # Account type and contact changes decide eligibility: evaluate this seller now.
        super().save_related(request, form, formsets, change)
        seller = form.instance
        assurance_evaluate(seller_ids=[seller.pk])


@admin.register(AccountHealthSnapshot)
class AccountHealthSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["seller", "date", "score"]
    list_filter = ["date"]
    search_fields = ["seller__seller_id"]
    list_select_related = ["seller"]
    date_hierarchy = "date"
    show_full_result_count = False


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = ["seller", "policy_area", "severity", "points", "status", "opened_on"]
    list_filter = ["severity", "status", "policy_area", "seller__store"]
    search_fields = ["seller__seller_id", "seller__name"]
    list_select_related = ["seller"]
    raw_id_fields = ["seller"]


@admin.register(AssuranceState)
class AssuranceStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "seller",
        "enrolled",
        "eligible",
        "enrolled_since",
        "latest_score",
        "days_below_threshold",
        "evaluated_on",
    ]
    list_filter = ["enrolled", "eligible", "contact_valid", "seller__store"]
    search_fields = ["seller__seller_id", "seller__name"]
    list_select_related = ["seller"]
    show_full_result_count = False


@admin.register(EnrollmentEvent)
class EnrollmentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "seller", "kind", "effective_on", "emailed_at"]
    list_filter = ["kind", "seller__store"]
    search_fields = ["seller__seller_id", "seller__name"]
    list_select_related = ["seller"]
    date_hierarchy = "created_at"


@admin.register(PhoneVerification)
class PhoneVerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Codes sent to emergency contact numbers and the tries at them (support's view)."""

    list_display = [
        "seller",
        "sent_at",
        "channel",
        "masked_phone",
        "wrong_attempts",
        "locked_until",
        "verified_at",
        "requested_by",
    ]
    list_filter = ["channel", "seller__store"]
    search_fields = ["seller__seller_id"]
    list_select_related = ["seller", "requested_by"]
    date_hierarchy = "sent_at"
    show_full_result_count = False
    fields = [
        "seller",
        "phone",
        "channel",
        "verification_sid",
        "sent_at",
        "wrong_attempts",
        "locked_until",
        "verified_at",
        "requested_by",
    ]
    readonly_fields = fields

    @admin.display(description="Number")
    def masked_phone(self, verification: PhoneVerification) -> str:
        return masked(verification.phone)


@admin.register(BandChange)
class BandChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Moves between rating bands, recorded by the evaluation (append-only)."""

    list_display = ["effective_on", "seller", "from_band", "to_band", "score", "created_at"]
    list_filter = ["to_band", "from_band", "seller__store"]
    search_fields = ["seller__seller_id"]
    list_select_related = ["seller"]
    date_hierarchy = "effective_on"
    show_full_result_count = False


@admin.register(SellerNotification)
class SellerNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The seller's notification centre as posted: what they were told, read and emailed."""

    list_display = [
        "created_at",
        "seller",
        "kind",
        "title",
        "read_at",
        "email_wanted",
        "emailed_at",
    ]
    list_filter = ["kind", "email_wanted", "seller__store"]
    search_fields = ["seller__seller_id"]
    list_select_related = ["seller"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "seller",
        "kind",
        "title",
        "body",
        "link",
        "created_at",
        "read_at",
        "email_wanted",
        "emailed_at",
        "dedupe_key",
    ]
    readonly_fields = fields


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The seller's choices (portal): read-only for staff, so every change is the seller's."""

    list_display = [
        "seller",
        "second_email",
        *NotificationPreferences.OPTIONAL_KINDS.values(),
        "updated_at",
    ]
    list_filter = [*NotificationPreferences.OPTIONAL_KINDS.values()]
    search_fields = ["seller__seller_id"]
    list_select_related = ["seller"]
    show_full_result_count = False
