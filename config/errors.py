"""Domain errors that carry their HTTP meaning (CONVENTIONS.md "Errors").

A service raises one of these; the API's exception handler and the pages' helper
(``config.problem_details``) turn it into an RFC 9457 problem: ``type``, ``title``,
``status``, ``detail`` and the fields of :meth:`DomainError.extra`. No view catches them
one by one.

``type`` is ``https://aha-desk.example/problems/<slug>``, one slug per kind of problem
(``conflict``, ``forbidden``, ``invalid-input``, ``not-found``, ...). It names the kind
of problem for clients to branch on; nothing is served at that address.

``Forbidden``, ``InvalidInput`` and ``NotFound`` are also Django's ``PermissionDenied``,
``ValidationError`` and ``Http404``, so code written against Django's exceptions (a
form's ``add_error(None, error)``, Django's own 403 and 404 pages) keeps working.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

PROBLEM_TYPE_BASE = "https://aha-desk.example/problems/"


def problem_type(slug: str) -> str:
    """The ``type`` URI of a kind of problem."""
    return f"{PROBLEM_TYPE_BASE}{slug}"


class DomainError(Exception):
    """A request that cannot be done as asked, and what it means in HTTP."""

    status_code: int = 400
    title: str = "Bad request"
    type: str = problem_type("bad-request")

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail

    def extra(self) -> dict[str, Any]:
        """Members of the problem beyond type, title, status and detail."""
        return {}

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body: the standard members, then :meth:`extra`."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
            **self.extra(),
        }


class Conflict(DomainError):
    """Not possible in the resource's current state (or someone else changed it first).

    ``status`` is the resource's state now and ``allowed`` what may be done from it. In
    the problem body they are ``state`` and ``allowed``: ``status`` there is the HTTP
    code (409), as RFC 9457 defines it.
    """

    status_code = 409
    title = "Not possible now"
    type = problem_type("conflict")

    def __init__(self, detail: str, *, status: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.allowed = list(allowed)

    def extra(self) -> dict[str, Any]:
        return {"state": self.status, "allowed": self.allowed}


class Forbidden(DomainError, PermissionDenied):
    """The person (or system) may never do this: a permission they do not hold."""

    status_code = 403
    title = "Not allowed"
    type = problem_type("forbidden")


class InvalidInput(DomainError, ValidationError):
    """Bad input, named by field: ``errors`` maps each field to its messages.

    ``InvalidInput({"assigned_to": "ghost is not a specialist."})``; the messages of a
    field may be one string or a list. ``detail`` defaults to the messages in one line.
    """

    status_code = 400
    title = "Invalid input"
    type = problem_type("invalid-input")

    def __init__(
        self, errors: Mapping[str, str | Sequence[str]], detail: str | None = None
    ) -> None:
        self.errors = {
            field: [messages] if isinstance(messages, str) else [str(m) for m in messages]
            for field, messages in errors.items()
        }
        # Django's side first (error_dict, message_dict, messages); then ours.
        ValidationError.__init__(self, self.errors)
        self.detail = detail or errors_sentence(self.errors)

    def __str__(self) -> str:
        return self.detail

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class NotFound(DomainError, Http404):
    """Nothing of that name, or nothing the reader may see (never say which)."""

    status_code = 404
    title = "Not found"
    type = problem_type("not-found")


def errors_sentence(errors: Mapping[str, Any]) -> str:
    """``"assigned_to: ghost is not a specialist."``: field errors in one line."""
    parts = []
    for field, messages in errors.items():
        if isinstance(messages, Mapping):
            text = errors_sentence(messages)
        elif isinstance(messages, str):
            text = messages
        else:
            text = " ".join(str(m) for m in messages if not isinstance(m, Mapping | list))
        parts.append(f"{field}: {text}" if text else field)
    return "; ".join(parts) or "The input is not valid."
