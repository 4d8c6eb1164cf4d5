"""The Twilio stand-in for the notifications tests (``twilio_fake``: see tests/twilio_fake.py)."""

from tests.twilio_fake import twilio_fake

__all__ = ["twilio_fake"]
