from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import TemplateView


class QueueView(PermissionRequiredMixin, TemplateView):
    """The specialist desk: the queue of cases (filled in by the cases issue)."""

    permission_required = "accounts.use_desk"
    template_name = "cases/queue.html"
