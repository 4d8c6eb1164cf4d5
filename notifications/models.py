"""Every call, text and email sent about a case (DESIGN.md "Channels")."""

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

    class Purpose(models.TextChoices):
        OUTREACH = "outreach", "Outreach to the seller"
        DEADLINE_WARNING = "deadline_warning", "Deadline warning"
        INACTIVITY_WARNING = "inactivity_warning", "Inactivity warning"

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

    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="attempts", null=True, blank=True
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    destination = models.CharField(max_length=254, help_text="Phone number or email address.")
    language = models.CharField(max_length=8, default="en")
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
            models.Index(fields=["case", "created_at"], name="attempt_case_idx"),
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
