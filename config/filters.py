"""Query-parameter filters that the apps' FilterSets share (django-filter).

Every parameter is checked: a value that is not one of its choices is a 400 naming the
parameter (``errors: {"status": [...]}``), never an empty page that looks like "none".
"""

from typing import Any

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}


class ChoiceInFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """One or more choices, comma-separated: ``?status=opened,contacted``."""


class StrictBooleanField(forms.Field):
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``); anything else is an error."""

    def to_python(self, value: Any) -> bool | None:
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise forms.ValidationError(
            "%(value)r is not true or false.", code="invalid", params={"value": str(value)[:40]}
        )


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    """A yes/no filter that refuses ``maybe`` (django-filter's BooleanFilter ignores it)."""

    field_class = StrictBooleanField
