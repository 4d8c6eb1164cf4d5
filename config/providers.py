"""The one error type for outside providers (Twilio, an SMTP relay), shared by every app.

An app that is handed a channel it may not import (``sellers`` verifying a number
through ``notifications``) still knows what a failed provider looks like.
"""


class ProviderError(Exception):
    """A provider refused or failed a request.

    ``transient`` says whether trying again later may succeed (Twilio 5xx and 429,
    timeouts, connection errors) or not (a 4xx: a bad number).
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient
