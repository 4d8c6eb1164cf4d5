"""The query parameters of ``GET /api/v1/sellers/`` and of a seller's violations."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from config.filters import ChoiceInFilter, StrictBooleanFilter
from sellers.models import PolicyArea, Seller, Severity, Store, Violation


class SellerFilter(filters.FilterSet):
    store = filters.ModelChoiceFilter(
        to_field_name="code", queryset=Store.objects.all(), help_text="Store code, e.g. US."
    )
    account_type = filters.ChoiceFilter(choices=Seller.AccountType.choices)
    enrolled = StrictBooleanFilter(
        method="filter_enrolled", help_text="Enrolled in AHA now (true or false)."
    )

    class Meta:
        model = Seller
        fields = ["store", "account_type"]

    def filter_enrolled(self, queryset: QuerySet[Seller], name: str, value: bool):
        enrolled = Q(assurance__enrolled=True)
        # A seller never evaluated has no assurance row: not enrolled.
        return queryset.filter(enrolled) if value else queryset.exclude(enrolled)


class ViolationFilter(filters.FilterSet):
    status = ChoiceInFilter(
        choices=Violation.Status.choices, help_text="One or more, comma-separated."
    )
    severity = ChoiceInFilter(choices=Severity.choices, help_text="One or more, comma-separated.")
    policy_area = filters.ChoiceFilter(choices=PolicyArea.choices)

    class Meta:
        model = Violation
        fields = ["status", "severity", "policy_area"]
