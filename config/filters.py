"""Query-parameter filters that the apps' FilterSets share (django-filter).

Every parameter is checked: a value that is not one of its choices is a 400 naming the
parameter (``errors: {"status": [...]}``), never an empty page that looks like "none".
"""

from typing import Any

import django_filters
from django import forms
from django_filters import rest_framework as filters

TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}


class ChoiceInFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """One or more choices, comma-separated: ``?status=opened,contacted``."""


class StrictBooleanField(forms.Field):
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``); anything else is an error.

    A plain text input: Django's NullBooleanSelect would read ``maybe`` as "no filter".
    """

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


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A yes/no filter that refuses ``maybe`` (django-filter's own reads it as no filter).

    A BooleanFilter still, so the OpenAPI schema says boolean.
    """

    field_class = StrictBooleanField
