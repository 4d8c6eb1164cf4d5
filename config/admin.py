"""Admin pieces shared by the apps."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Rows written only by the system (engine, feed, audit, outreach): seen, never edited.

    For a ModelAdmin or an inline; ``obj`` is optional because inlines pass it to
    ``has_add_permission`` and model admins do not.
    """

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
