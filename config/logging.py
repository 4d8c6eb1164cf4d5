"""Log hygiene: phone numbers and email addresses never reach the logs in full."""

import logging
import re

_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
# International numbers (+1 415 555 0100), North American local ones ((415) 555-0100)
# and bare runs of 10-15 digits; dates, times and short ids are left alone.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d[\d ().-]{6,}\d|\(\d{3}\)\s?\d{3}[-.\s]\d{4}|\d{10,15})(?!\w)"
)


def mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = [c for c in text if c.isdigit()]
    if len(digits) < 8:
        return text
    prefix = "+" if text.startswith("+") else ""
    return f"{prefix}{'*' * (len(digits) - 2)}{''.join(digits[-2:])}"


def mask_contacts(text: str) -> str:
    """``+14155550100`` → ``+**********00``; ``jane.doe@example.com`` → ``j***@example.com``."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(mask_phone, text)


class MaskContactsFilter(logging.Filter):
    """Rewrites each record's message with its phone numbers and emails masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_contacts(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
