"""The query parameters of ``GET /api/v1/cases/`` (django-filter)."""

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from accounts.models import User
from cases.models import Case
from cases.selectors import case_queue
from config.filters import ChoiceInFilter, StrictBooleanFilter
from sellers.models import PolicyArea, Severity, Store


class CaseFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(
        choices=Case.Kind.choices,
        help_text="critical_policy (the 72-hour promise) or account_health; default: both.",
    )
    status = ChoiceInFilter(
        choices=Case.Status.choices,
        help_text="One or more, comma-separated; default: every status.",
    )
    seller_id = filters.CharFilter(field_name="seller__seller_id", help_text="The seller's id.")
    store = filters.ModelChoiceFilter(
        field_name="seller__store",
        to_field_name="code",
        queryset=Store.objects.all(),
        help_text="Store code, e.g. US.",
    )
    # By the user's id, not through a join on username: the (assigned_to, deadline) index
    # then serves the order too.
    assigned_to = filters.ModelChoiceFilter(
        to_field_name="username",
        queryset=User.objects.all(),
        help_text="Username of the specialist.",
    )
    severity = filters.ChoiceFilter(choices=Severity.choices)
    policy_area = filters.ChoiceFilter(choices=PolicyArea.choices)
    overdue = StrictBooleanFilter(
        method="filter_overdue", help_text="Past the deadline, not reached (true or false)."
    )

    class Meta:
        model = Case
        fields = ["kind", "status", "seller_id", "store", "assigned_to", "severity", "policy_area"]

    def filter_overdue(self, queryset: QuerySet[Case], name: str, value: bool) -> QuerySet[Case]:
        # The queue's own rule of "overdue", with every status left in.
        return case_queue(cases=queryset, status=list(Case.Status.values), overdue=value)
