from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import TemplateView


class ReportsIndexView(PermissionRequiredMixin, TemplateView):
    """SLA reports for managers (reports issue)."""

    permission_required = "accounts.view_reports"
    template_name = "reports/index.html"
