from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role_list",
        "is_staff",
        "is_active",
    )
    list_filter = ("groups", "is_staff", "is_superuser", "is_active")

    @admin.display(description="Roles")
    def role_list(self, user: User) -> str:
        return ", ".join(user.role_names) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")
