"""Typed reading of the environment, with one-line errors that name the variable.

Every setting that varies between machines is read here (12-factor). A missing or
malformed value raises :class:`ConfigError`, whose message is a single line of the
form ``NAME: what is wrong``; ``manage.py``, WSGI/ASGI and Celery print that line
and stop instead of a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

REQUIRED: Any = object()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ImproperlyConfigured):
    """A variable of the environment is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


class Env:
    """Reads variables from a mapping (``os.environ`` unless told otherwise)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _raw(self, name: str, default: Any) -> Any:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            if default is REQUIRED:
                raise ConfigError(name, "is required but not set")
            return default
        return value.strip()

    def _parse(self, name: str, default: Any, parse: Callable[[str], Any]) -> Any:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            # A default is trusted as written; only what the environment says is parsed.
            return self._raw(name, default)
        raw = value.strip()
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(name, f"{exc} (got {_shown(name, raw)})") from None

    def str(self, name: str, default: Any = REQUIRED) -> Any:
        return self._raw(name, default)

    def bool(self, name: str, default: Any = REQUIRED) -> Any:
        def parse(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("must be one of true/false, 1/0, yes/no, on/off")

        return self._parse(name, default, parse)

    def int(self, name: str, default: Any = REQUIRED, *, minimum: int | None = None) -> Any:
        def parse(raw: str) -> int:
            try:
                value = int(raw)
            except ValueError:
                raise ValueError("must be a whole number") from None
            if minimum is not None and value < minimum:
                raise ValueError(f"must be at least {minimum}")
            return value

        return self._parse(name, default, parse)

    def list(self, name: str, default: Any = REQUIRED) -> Any:
        return self._parse(
            name,
            default,
            lambda raw: [item.strip() for item in raw.split(",") if item.strip()],
        )

    def url(self, name: str, default: Any = REQUIRED, *, schemes: tuple[str, ...]) -> Any:
        def parse(raw: str) -> str:
            parts = urlsplit(raw)
            if parts.scheme not in schemes:
                raise ValueError(f"must be a URL starting with {' or '.join(schemes)}://")
            if not parts.netloc and parts.scheme not in {"sqlite"}:
                raise ValueError("must name a host")
            return raw

        return self._parse(name, default, parse)

    def database(self, name: str, default: Any = REQUIRED, *, base_dir: Path) -> dict[str, Any]:
        """A Django ``DATABASES`` entry from a URL.

        ``sqlite:///db.sqlite3`` is a file relative to ``base_dir``, ``sqlite:////abs/x.db``
        an absolute one; ``postgres://user:password@host:port/name?sslmode=require``.
        """
        raw = self.url(name, default, schemes=("sqlite", "postgres", "postgresql"))
        parts = urlsplit(raw)
        if parts.scheme == "sqlite":
            path = parts.path[1:]
            if not path.strip("/"):
                raise ConfigError(
                    name, f"must name a file, as in sqlite:///db.sqlite3 (got {raw!r})"
                )
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(base_dir / path)}
        if not parts.path.strip("/"):
            raise ConfigError(
                name,
                f"must name the database, as in postgres://host/aha_desk (got {_shown(name, raw)})",
            )
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(
                name, f"has a port that is not a number (got {_shown(name, raw)})"
            ) from None
        options: dict[str, Any] = {}
        query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
        if "sslmode" in query:
            options["sslmode"] = query["sslmode"]
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.strip("/"),
            "USER": parts.username or "",
            "PASSWORD": parts.password or "",
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": options,
        }

    def e164(self, name: str, default: Any = REQUIRED) -> Any:
        def parse(raw: str) -> str:
            if not re.fullmatch(r"\+[1-9]\d{6,14}", raw):
                raise ValueError("must be a phone number in E.164 form, such as +15005550006")
            return raw

        return self._parse(name, default, parse)

    def time_range(self, name: str, default: Any = REQUIRED) -> Any:
        """``"21:00-08:00"`` as ``(time(21), time(8))``; ``off`` or ``none`` as ``None``."""

        def parse(raw: str) -> tuple[dt.time, dt.time] | None:
            if raw.lower() in {"off", "none"}:
                return None
            match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", raw)
            if not match:
                raise ValueError("must be HH:MM-HH:MM, such as 21:00-08:00, or off")
            h1, m1, h2, m2 = (int(part) for part in match.groups())
            try:
                start, end = dt.time(h1, m1), dt.time(h2, m2)
            except ValueError:
                raise ValueError("has an hour or minute out of range") from None
            if start == end:
                raise ValueError("must start and end at different times")
            return start, end

        return self._parse(name, default, parse)


def _shown(name: str, raw: str) -> str:
    """The value as it may appear in an error: secrets and passwords in URLs are hidden."""
    if any(word in name for word in ("SECRET", "TOKEN", "PASSWORD", "KEY")):
        return "a hidden value"
    parts = urlsplit(raw)
    if parts.password:
        return raw.replace(f":{parts.password}@", ":***@")
    return repr(raw)


env = Env()


def load_settings_or_exit() -> None:
    """Import the settings module now, turning a :class:`ConfigError` into one line and exit 2.

    Called by ``manage.py``, WSGI/ASGI and the Celery app before Django reads its
    settings, so a bad environment stops start-up with a message, not a traceback.
    """
    import importlib
    import sys

    module = os.environ["DJANGO_SETTINGS_MODULE"]
    try:
        importlib.import_module(module)
    except ConfigError as exc:
        sys.stderr.write(f"Configuration error ({module}): {exc}\n")
        raise SystemExit(2) from None
