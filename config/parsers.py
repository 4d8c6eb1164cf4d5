"""The API's JSON parser: DRF's, with limits on what a body may make the server do.

Python's ``json`` recurses once per level of nesting, so a 2 KB body of ``[[[[...`` used
to exhaust the interpreter's stack (a 500 on every JSON endpoint). This parser refuses,
before decoding, a body nested deeper than ``AHA["JSON_MAX_DEPTH"]`` (400) or larger
than ``AHA["JSON_MAX_BODY_BYTES"]`` (413). The depth is counted by a regular expression
over the text, without recursion: strings are skipped whole (brackets in them are text),
so nothing that parses the data later recurses deeper than the limit either.

An integer literal too long for ``int()`` (Python refuses more than 4,300 digits) is
kept as a :class:`~decimal.Decimal` rather than failing the whole body, so that a feed
names the one row whose number is out of range and keeps the others.
"""

import codecs
import json
import re
import sys
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, parsers, renderers
from rest_framework.utils import json as drf_json

# A whole JSON string (escapes included), a quote that opens no whole string, or one
# bracket outside any string. Each alternative is linear: no backtracking blow-up.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{}]', re.DOTALL)


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def nesting_depth_exceeds(text: str, limit: int) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit`` (strings skipped).

    Up to the first place where the text stops being valid JSON, this counts exactly as
    a JSON decoder nests. A string that never ends stops the count: a decoder fails
    there too, before it reaches anything after it.
    """
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        found = match.group()
        if found in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif found in ("]", "}"):
            depth -= 1
        elif found == '"':
            return False
    return False


def _int_or_decimal(literal: str) -> int | Decimal:
    if len(literal) > sys.get_int_max_str_digits():
        return Decimal(literal)
    return int(literal)


class JSONParser(parsers.JSONParser):
    """``application/json`` with the limits above; otherwise exactly DRF's parser."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(
        self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        limits = settings.AHA
        max_bytes = limits["JSON_MAX_BODY_BYTES"]
        max_depth = limits["JSON_MAX_DEPTH"]
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read(max_bytes + 1) if stream is not None else b""
        if len(raw) > max_bytes:
            raise BodyTooLarge(f"The request body may have at most {max_bytes:,} bytes.")
        try:
            text = codecs.decode(raw, encoding)
        except (LookupError, UnicodeDecodeError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        if nesting_depth_exceeds(text, max_depth):
            raise exceptions.ParseError(
                f"JSON parse error - the body is nested deeper than {max_depth} levels."
            )
        try:
            return json.loads(
                text,
                parse_int=_int_or_decimal,
                parse_constant=drf_json.strict_constant if self.strict else None,
            )
        except RecursionError:
            # Not reached with a sane limit; kept so that a limit set too high is a 400 still.
            raise exceptions.ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from None
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
