"""One small interface for the channels that reach people: call, SMS, verification code.

Email goes through Django's email framework (``config.email``) and needs no
adapter. ``channels()`` picks the adapter named by ``settings.NOTIFICATIONS_CHANNELS``:

- ``twilio``: the real ``twilio`` SDK (calls with a TwiML URL, status callbacks and
  answering-machine detection; messages; Verify);
- ``console``: logs what would be sent (numbers masked) and answers like Twilio would,
  so the whole system runs offline. Its verification code is derived from the
  verification's id and logged, so a developer can read it off the console.

Adapters raise :class:`ChannelError`; ``transient`` says whether trying again later may
succeed (Twilio 5xx and 429, timeouts, connection errors) or not (a 4xx: a bad number).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from config.providers import ProviderError

logger = logging.getLogger(__name__)

# Call progress Twilio reports to the status callback (docs/domain.md "Channels").
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


# Twilio error codes that a retry does not help, whatever their HTTP status.
NOT_RETRIED = {60202, 60203}


class ChannelError(ProviderError):
    """A call, text or code the provider refused or could not take (``transient``: try later)."""


@dataclass(frozen=True)
class Verification:
    sid: str
    status: str  # pending, approved, canceled, max_attempts_reached, expired


class Channels(Protocol):
    name: str

    def call(self, *, to: str, twiml_url: str, status_callback: str) -> str:
        """Places a call that fetches its TwiML from ``twiml_url``; returns the call id."""

    def sms(self, *, to: str, body: str, status_callback: str) -> str:
        """Sends a text; returns the message id."""

    def send_code(self, *, to: str, channel: str) -> Verification:
        """Sends a one-time code by ``sms`` or ``call``."""

    def check_code(self, *, to: str, code: str, verification_sid: str) -> Verification:
        """Checks a code; ``status == "approved"`` when it is right."""


class ConsoleChannels:
    """Logs what would be sent; the local default without Twilio credentials."""

    name = "console"

    def _log(self, what: str, to: str, detail: str) -> str:
        sid = f"CONSOLE{secrets.token_hex(13)}"
        # The logging filter masks the number; the detail carries no contact data.
        logger.info("[console %s] to %s: %s (%s)", what, to, detail, sid)
        return sid

    def call(self, *, to: str, twiml_url: str, status_callback: str) -> str:
        return self._log("call", to, f"TwiML from {twiml_url}")

    def sms(self, *, to: str, body: str, status_callback: str) -> str:
        return self._log("sms", to, body)

    @staticmethod
    def code_for(sid: str) -> str:
        digest = hmac.new(settings.SECRET_KEY.encode(), sid.encode(), hashlib.sha256).digest()
        return f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"

    def send_code(self, *, to: str, channel: str) -> Verification:
        sid = f"VE{secrets.token_hex(16)}"
        logger.info("[console verify] %s code for %s: %s", channel, to, self.code_for(sid))
        return Verification(sid=sid, status="pending")

    def check_code(self, *, to: str, code: str, verification_sid: str) -> Verification:
        right = hmac.compare_digest(code, self.code_for(verification_sid))
        return Verification(sid=verification_sid, status="approved" if right else "pending")


class TwilioChannels:
    """The real Twilio SDK. ``TWILIO_API_BASE_URL`` points it at a stand-in in tests."""

    name = "twilio"

    def __init__(self) -> None:
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=_http_client(),
        )
        self.from_number = settings.TWILIO_FROM_NUMBER

    def _run(self, what: str, request):
        from twilio.base.exceptions import (
            TwilioException,
            TwilioRestException,
            TwilioServiceException,
        )

        try:
            return request()
        except (TwilioRestException, TwilioServiceException) as exc:
            # Busy or broken at Twilio: try later. Verify's "too many attempts" (60202,
            # 60203) comes as 429 too, but waiting minutes will not lift it.
            transient = (exc.status >= 500 or exc.status == 429) and exc.code not in NOT_RETRIED
            detail = getattr(exc, "msg", "") or getattr(exc, "detail", None) or exc.title
            raise ChannelError(
                f"Twilio refused the {what}: HTTP {exc.status}, code {exc.code}: {detail}",
                transient=transient,
            ) from None
        except TwilioException as exc:  # connection errors, timeouts
            raise ChannelError(
                f"Twilio could not be reached for the {what}: {exc}", transient=True
            ) from None
        except OSError as exc:
            raise ChannelError(
                f"Twilio could not be reached for the {what}: {exc}", transient=True
            ) from None

    def call(self, *, to: str, twiml_url: str, status_callback: str) -> str:
        call = self._run(
            "call",
            lambda: self.client.calls.create(
                to=to,
                from_=self.from_number,
                url=twiml_url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=CALL_EVENTS,
                machine_detection="DetectMessageEnd",
                timeout=30,
            ),
        )
        return call.sid

    def sms(self, *, to: str, body: str, status_callback: str) -> str:
        message = self._run(
            "text",
            lambda: self.client.messages.create(
                to=to, from_=self.from_number, body=body, status_callback=status_callback
            ),
        )
        return message.sid

    def _verify(self):
        return self.client.verify.v2.services(settings.TWILIO_VERIFY_SERVICE_SID)

    def send_code(self, *, to: str, channel: str) -> Verification:
        answer = self._run(
            "verification code",
            lambda: self._verify().verifications.create(to=to, channel=channel),
        )
        return Verification(sid=answer.sid, status=answer.status)

    def check_code(self, *, to: str, code: str, verification_sid: str) -> Verification:
        answer = self._run(
            "code check",
            lambda: self._verify().verification_checks.create(
                verification_sid=verification_sid, code=code
            ),
        )
        return Verification(sid=answer.sid, status=answer.status)


def _http_client():
    from twilio.http.http_client import TwilioHttpClient

    class Client(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            base = settings.TWILIO_API_BASE_URL
            if base:
                # https://api.twilio.com/2010-04-01/... -> <base>/2010-04-01/...
                target = urlsplit(base)
                parts = urlsplit(url)
                url = urlunsplit(
                    (target.scheme, target.netloc, parts.path, parts.query, parts.fragment)
                )
            return super().request(method, url, *args, **kwargs)

    return Client(timeout=settings.TWILIO_TIMEOUT_SECONDS)


def channels() -> Channels:
    """The adapter the settings name (read on every use, so a settings change applies)."""
    name = settings.NOTIFICATIONS_CHANNELS
    if name == "twilio":
        return TwilioChannels()
    if name == "console":
        return ConsoleChannels()
    raise ValueError(f"NOTIFICATIONS_CHANNELS must be twilio or console, not {name!r}")
