from django.contrib import admin

from config.admin import ReadOnlyAdminMixin
from notifications.models import ContactAttempt


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: attempts are written by the outreach code and Twilio's callbacks."""

    list_display = [
        "id",
        "subject_type",
        "subject_id",
        "channel",
        "purpose",
        "status",
        "outcome",
        "tries",
        "created_at",
    ]
    list_filter = ["channel", "purpose", "status", "outcome"]
    search_fields = ["provider_id", "=subject_id"]
    list_select_related = ["subject_type"]
    date_hierarchy = "created_at"
    show_full_result_count = False
