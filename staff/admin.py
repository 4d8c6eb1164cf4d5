from django.contrib import admin

from staff.models import Specialist


@admin.register(Specialist)
class SpecialistAdmin(admin.ModelAdmin):
    list_display = ["user", "on_duty", "time_zone"]
    list_filter = ["on_duty", "stores"]
    list_editable = ["on_duty"]
    filter_horizontal = ["stores"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
