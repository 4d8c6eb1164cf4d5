from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import TemplateView


class PortalView(PermissionRequiredMixin, TemplateView):
    """The seller portal home: account health and programme status (sellers issue)."""

    permission_required = "accounts.use_portal"
    template_name = "sellers/portal.html"
