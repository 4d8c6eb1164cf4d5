import logging

import pytest

from config.logging import MaskContactsFilter, mask_contacts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calling +14155550100 now", "calling +*********00 now"),
        ("sms to +49 30 1234 5678 queued", "sms to +**********78 queued"),
        ("mail jane.doe@example.com sent", "mail j***@example.com sent"),
        ("case 12345 opened", "case 12345 opened"),
        ("at 2026-11-23 10:00:00", "at 2026-11-23 10:00:00"),
        ("call (415) 555-0100", "call ********00"),
    ],
)
def test_masks_phone_numbers_and_emails_but_not_ids_or_dates(text, expected):
    assert mask_contacts(text) == expected


def test_log_records_are_masked_after_formatting(caplog):
    logger = logging.getLogger("tests.masking")
    logger.addFilter(MaskContactsFilter())
    with caplog.at_level(logging.INFO, logger="tests.masking"):
        logger.info("calling %s for case %s", "+14155550100", 42)
    assert caplog.messages == ["calling +*********00 for case 42"]
