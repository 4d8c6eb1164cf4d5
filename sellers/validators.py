"""The ids other systems give us, and the text they send (issue 9, items 5 and 6).

A seller id (``Seller.seller_id``) and an upstream id (``Violation.upstream_id``,
``Case.upstream_id``) are 1 to 64 (seller id) or 1 to 100 (upstream id) ASCII letters,
digits and ``. _ : -``, the first a letter or a digit. Such an id is one URL path segment
as it is (``/api/v1/sellers/<seller_id>/``, ``/portal/sellers/<seller_id>/``), a CSV cell,
a log word and a file name, never escaped and never ambiguous (no ``/``, ``%``, ``?``,
``#``, spaces, a leading dot, or non-ASCII look-alike letters). Every entry point checks
it here: the model fields' validators (admin forms, ``full_clean``), the API's
serializer fields (:func:`seller_id_field`, :func:`upstream_id_field`, which document it
as the OpenAPI ``pattern``), and the feeds and ``import_ahr`` row by row
(:func:`seller_id_problem`, :func:`upstream_id_problem`).

Text from JSON may hold what no database column can: NUL, and lone surrogates
(``"\\ud800"`` decodes to a Python string that cannot be encoded as UTF-8).
:func:`text_problem` names them, so a feed refuses that row instead of failing at the
database.
"""

import re

from django.core.exceptions import ValidationError
from rest_framework import serializers

SELLER_ID_MAX_LENGTH = 64
UPSTREAM_ID_MAX_LENGTH = 100
ID_CHARACTERS = "letters, digits and . _ : -"
_SELLER_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{SELLER_ID_MAX_LENGTH - 1}}}")
_UPSTREAM_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{UPSTREAM_ID_MAX_LENGTH - 1}}}")
# The same as OpenAPI's ``pattern`` (serializers.RegexField); the code uses fullmatch.
SELLER_ID_PATTERN = f"^{_SELLER_ID.pattern}$"
UPSTREAM_ID_PATTERN = f"^{_UPSTREAM_ID.pattern}$"
_SURROGATE = re.compile("[\ud800-\udfff]")


def id_message(max_length: int) -> str:
    return f"Use 1 to {max_length} {ID_CHARACTERS} (ASCII only), starting with a letter or a digit."


def seller_id_problem(value: str) -> str | None:
    """Why ``value`` is not a seller id; None when it is one."""
    return None if _SELLER_ID.fullmatch(value) else id_message(SELLER_ID_MAX_LENGTH)


def upstream_id_problem(value: str) -> str | None:
    """Why ``value`` is not an upstream id; None when it is one."""
    return None if _UPSTREAM_ID.fullmatch(value) else id_message(UPSTREAM_ID_MAX_LENGTH)


def validate_seller_id(value: str) -> None:
    """Model and form validator of ``Seller.seller_id``."""
    if problem := seller_id_problem(value):
        raise ValidationError(problem, code="invalid_id")


def validate_upstream_id(value: str) -> None:
    """Model and form validator of the ``upstream_id`` fields."""
    if problem := upstream_id_problem(value):
        raise ValidationError(problem, code="invalid_id")


def seller_id_field(**options: object) -> serializers.RegexField:
    """The API's field for a seller id: the character set as OpenAPI's ``pattern``."""
    return serializers.RegexField(
        SELLER_ID_PATTERN,
        max_length=SELLER_ID_MAX_LENGTH,
        error_messages={"invalid": id_message(SELLER_ID_MAX_LENGTH)},
        **options,
    )


def upstream_id_field(**options: object) -> serializers.RegexField:
    """The API's field for an upstream id: the character set as OpenAPI's ``pattern``."""
    return serializers.RegexField(
        UPSTREAM_ID_PATTERN,
        max_length=UPSTREAM_ID_MAX_LENGTH,
        error_messages={"invalid": id_message(UPSTREAM_ID_MAX_LENGTH)},
        **options,
    )


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, a lone surrogate); None when it can."""
    if "\x00" in value:
        return "Null characters are not allowed."
    if surrogate := _SURROGATE.search(value):
        return f"Surrogate characters are not allowed: U+{ord(surrogate.group()):X}."
    return None
