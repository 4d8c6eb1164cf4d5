from django.contrib import admin

from config.admin import ReadOnlyAdminMixin
from notifications.models import ContactAttempt


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: attempts are written by the outreach code and Twilio's callbacks."""

    list_display = [
        "id",
        "case",
        "channel",
        "purpose",
        "status",
        "outcome",
        "tries",
        "created_at",
    ]
    list_filter = ["channel", "purpose", "status", "outcome"]
    search_fields = ["case__seller__seller_id", "provider_id", "case__id"]
    list_select_related = ["case__seller"]
    raw_id_fields = ["case"]
    date_hierarchy = "created_at"
    show_full_result_count = False
