"""Every call, text and email the system sends (docs/domain.md "Channels").

This app is a leaf: it knows no case, seller or call back. The app that decides an
attempt says what it is about (``subject``, any model), what it is for (``purpose``,
that app's own vocabulary), what it says (the rendered email or text) and which of its
views answers the call (``twiml_route``).
"""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from config.logging import mask_contacts


class ContactAttempt(models.Model):
    """One try to reach someone, from the moment it is decided to its final outcome.

    Created by the sweep inside the transaction that decided it (so a crash can delay it
    but never lose it), then claimed and sent by ``notifications.tasks.deliver_attempt``.
    Provider callbacks move ``status`` forward only; every status seen is kept, with its
    time, in ``history``.
    """

    class Channel(models.TextChoices):
        CALL = "call", "Call"
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        QUEUED = "queued", "Queued at the provider"
        INITIATED = "initiated", "Dialling"
        RINGING = "ringing", "Ringing"
        IN_PROGRESS = "in-progress", "Answered"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        COMPLETED = "completed", "Completed"
        BUSY = "busy", "Busy"
        NO_ANSWER = "no-answer", "No answer"
        CANCELED = "canceled", "Canceled"
        UNDELIVERED = "undelivered", "Not delivered"
        FAILED = "failed", "Failed"

    class Outcome(models.TextChoices):
        CONNECTED = "connected", "Answered and connected to a specialist"
        ANSWERED = "answered", "Answered, not connected"
        VOICEMAIL = "voicemail", "Voicemail left"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        DELIVERED = "delivered", "Delivered"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # Statuses that end an attempt; later callbacks may add history, never move it.
    FINAL = frozenset(
        {
            Status.COMPLETED,
            Status.BUSY,
            Status.NO_ANSWER,
            Status.CANCELED,
            Status.UNDELIVERED,
            Status.FAILED,
            Status.DELIVERED,
        }
    )
    # How far along each status is: callbacks that arrive late never move an attempt back.
    RANK = {
        Status.PENDING: 0,
        Status.SENDING: 1,
        Status.QUEUED: 2,
        Status.INITIATED: 3,
        Status.RINGING: 4,
        Status.IN_PROGRESS: 5,
        Status.SENT: 5,
        **dict.fromkeys(FINAL, 9),
    }

    # What the attempt is about (a case, a call back): given by the app that made it.
    subject_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # The deciding app's own word for why ("outreach", "deadline_warning", ...).
    purpose = models.CharField(max_length=32)
    destination = models.CharField(max_length=254, help_text="Phone number or email address.")
    language = models.CharField(max_length=8, default="en")
    # What is sent, rendered by the deciding app when it decided: an email's subject, text
    # and HTML, or a text message's body. A call says what its ``twiml_route`` answers.
    email_subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    twiml_route = models.CharField(
        max_length=64, blank=True, help_text="URL name of the view that answers the call."
    )
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    history = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    answered_by = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["subject_type", "subject_id", "created_at"], name="attempt_subject_idx"
            ),
            # The sweep's retry queue: only unfinished deliveries are in it.
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="attempt_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def masked_destination(self) -> str:
        return mask_contacts(self.destination)
