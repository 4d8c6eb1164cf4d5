"""Sellers, their stores, emergency contacts, Account Health Rating and AHA enrollment.

Rules: docs/domain.md "Account Health Rating" and "AHA eligibility and enrollment".
"""

import zoneinfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from config.append_only import AppendOnlyModel
from sellers.validators import (
    SELLER_ID_MAX_LENGTH,
    UPSTREAM_ID_MAX_LENGTH,
    validate_seller_id,
    validate_upstream_id,
)

# Number types that can take a voice call (phonenumbers.PhoneNumberType).
CALLABLE_NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
}
# ...and those of them that also take SMS.
SMS_NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


class PolicyArea(models.TextChoices):
    """The policies a violation or a case is about (docs/domain.md "Cases")."""

    ORDER_DEFECT_RATE = "order_defect_rate", _("Order defect rate")
    LATE_SHIPMENT_RATE = "late_shipment_rate", _("Late shipment rate")
    VALID_TRACKING_RATE = "valid_tracking_rate", _("Valid tracking rate")
    ON_TIME_DELIVERY = "on_time_delivery", _("On-time delivery")
    CUSTOMER_RESPONSE_TIME = "customer_response_time", _("Customer response time")
    INVENTORY_PERFORMANCE = "inventory_performance", _("Inventory performance")
    A_TO_Z_CLAIMS = "a_to_z_claims", _("A-to-z claims")
    INTELLECTUAL_PROPERTY = "intellectual_property", _("Intellectual property")
    COUNTERFEIT = "counterfeit", _("Counterfeit")
    LISTING_QUALITY = "listing_quality", _("Listing quality")
    OTHER_POLICY = "other_policy", _("Other policy")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")

    @classmethod
    def rank(cls, value: str) -> int:
        """Critical first: 0 for critical ... 3 for low."""
        return [cls.CRITICAL, cls.HIGH, cls.MEDIUM, cls.LOW].index(value)


class HealthBand(models.TextChoices):
    """The AHR bands (docs/domain.md "Account Health Rating")."""

    HEALTHY = "healthy", _("Healthy")
    AT_RISK = "at_risk", _("At Risk")
    UNHEALTHY = "unhealthy", _("Unhealthy")


class Store(models.Model):
    """A marketplace (US, CA, ...) with its time zone and language."""

    code = models.CharField(max_length=2, unique=True, help_text="Two-letter store code, e.g. US.")
    name = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    language = models.CharField(max_length=8, help_text="Language code for emails, e.g. en, de.")
    aha_enabled = models.BooleanField(
        "AHA switched on",
        default=False,
        help_text="Sellers of this store can be enrolled in Account Health Assurance.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Seller(models.Model):
    class AccountType(models.TextChoices):
        PROFESSIONAL = "professional", "Professional"
        INDIVIDUAL = "individual", "Individual"

    seller_id = models.CharField(
        "seller id",
        max_length=SELLER_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_seller_id],
        help_text=(
            "The marketplace's id of the seller: the public key in the API. "
            "Letters, digits and . _ : -, starting with a letter or digit."
        ),
    )
    name = models.CharField(max_length=200)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="sellers")
    account_type = models.CharField(max_length=16, choices=AccountType.choices)
    email = models.EmailField(blank=True, help_text="Where programme emails go.")
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="sellers",
        blank=True,
        help_text="Portal logins of this seller.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["seller_id"]
        permissions = [("push_feed", "Can push sellers and AHR values through the API")]

    def __str__(self) -> str:
        return f"{self.name} ({self.seller_id})"

    def get_absolute_url(self) -> str:
        return reverse("admin:sellers_seller_change", args=[self.pk])

    def notification_emails(self, kind: str) -> list[str]:
        """Where an email of this ``kind`` (``SellerNotification.Kind``) goes: the
        programme address (or the logins' addresses) and the second address of the
        seller's preferences; none when the seller turned that kind's email off.
        Urgent kinds always go."""
        preferences = NotificationPreferences.of(self)
        if not preferences.wants_email(kind):
            return []
        if self.email:
            recipients = [self.email]
        else:
            recipients = [user.email for user in self.users.all() if user.email]
        second = preferences.second_email
        if second and second.lower() not in {address.lower() for address in recipients}:
            recipients.append(second)
        return recipients


class EmergencyContact(models.Model):
    """The number a specialist calls within 72 hours; valid once verified by a code."""

    class VerifiedBy(models.TextChoices):
        SMS = "sms", "Code sent by SMS"
        VOICE = "voice", "Code given by voice call"
        UPSTREAM = "upstream", "Verified by the marketplace"
        STAFF = "staff", "Verified by staff"
        CODE = "code", "Code entered on the portal"

    seller = models.OneToOneField(
        Seller, on_delete=models.CASCADE, related_name="emergency_contact"
    )
    phone = PhoneNumberField(help_text="E.164, e.g. +14155550100.")
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=16, choices=VerifiedBy.choices, blank=True)
    verified_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept from the number on save, so the set-based engine can read validity in SQL.
    callable = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Emergency contact of {self.seller.seller_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.callable = self.can_receive_calls
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "callable"}
        super().save(*args, **kwargs)

    @property
    def number_type(self) -> int | None:
        if not self.phone or not self.phone.is_valid():
            return None
        return phonenumbers.number_type(self.phone)

    @property
    def can_receive_calls(self) -> bool:
        return self.number_type in CALLABLE_NUMBER_TYPES

    @property
    def can_receive_sms(self) -> bool:
        return self.number_type in SMS_NUMBER_TYPES

    @property
    def is_valid(self) -> bool:
        """E.164, a number type that takes calls, and verified (docs/domain.md rule 4)."""
        return bool(self.verified_at) and self.can_receive_calls

    @property
    def problem(self) -> str | None:
        """Why the contact does not count, in words a seller understands; None when valid."""
        if not self.phone or not self.phone.is_valid():
            return "Your emergency contact number is not a valid phone number."
        if not self.can_receive_calls:
            return "Your emergency contact number cannot receive calls."
        if not self.verified_at:
            return "Your emergency contact number has not been verified with a code yet."
        return None


class AccountHealthSnapshot(models.Model):
    """One day's Account Health Rating of one seller, pushed by the marketplace."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(1000)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller", "date"], name="snapshot_one_per_seller_day"),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=1000), name="snapshot_score_0_1000"
            ),
        ]
        get_latest_by = "date"

    def __str__(self) -> str:
        return f"{self.seller.seller_id} {self.date}: {self.score}"


class Violation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="violations")
    upstream_id = models.CharField(
        max_length=UPSTREAM_ID_MAX_LENGTH,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_upstream_id],
        help_text="The upstream system's id of the violation; the feed upserts by it.",
    )
    policy_area = models.CharField(max_length=32, choices=PolicyArea.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    points = models.PositiveIntegerField(default=0, help_text="AHR points this violation costs.")
    description = models.TextField(blank=True, max_length=5_000)
    opened_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)

    class Meta:
        indexes = [models.Index(fields=["seller", "status"])]

    def __str__(self) -> str:
        area = self.get_policy_area_display()
        return f"{self.get_severity_display()} {area} ({self.seller.seller_id})"


class AssuranceState(models.Model):
    """Where a seller stands in the programme, kept current incrementally.

    ``days_below_threshold`` counts the days in ``[window_start, evaluated_on]`` with AHR
    below the threshold that was in force (``threshold``); each new day adjusts it
    with two narrow look-ups instead of a rescan of six months.
    """

    seller = models.OneToOneField(
        Seller, on_delete=models.CASCADE, primary_key=True, related_name="assurance"
    )
    evaluated_on = models.DateField(null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    rules_key = models.CharField(
        max_length=32, blank=True, help_text="The threshold and window the count was made under."
    )
    days_below_threshold = models.PositiveIntegerField(default=0)
    first_snapshot_on = models.DateField(null=True, blank=True)
    latest_snapshot_on = models.DateField(null=True, blank=True)
    latest_score = models.PositiveSmallIntegerField(null=True, blank=True)
    contact_valid = models.BooleanField(default=False)
    contact_invalid_since = models.DateField(null=True, blank=True)
    eligible = models.BooleanField(default=False)
    enrolled = models.BooleanField(default=False)
    enrolled_since = models.DateField(null=True, blank=True)
    warned_days_below_on = models.DateField(null=True, blank=True)
    warned_contact_on = models.DateField(null=True, blank=True)
    # The band of the latest value, and the day of the value that first put the seller
    # in it (HEALTH_RECOVERY_DAYS counts from here).
    band = models.CharField(max_length=16, choices=HealthBand.choices, blank=True)
    band_since = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # No index on evaluated_on: every evaluation rewrites it, and an index on it would
        # make each of those updates touch every index (no HOT updates on PostgreSQL).
        indexes = [models.Index(fields=["enrolled"])]

    def __str__(self) -> str:
        return f"Assurance of {self.seller.seller_id}"


class EnrollmentEvent(AppendOnlyModel):
    """Append-only history of every enrollment, removal and warning, with why.

    ``rules`` keeps the rule values and the measured values that decided, so a later
    change of settings never rewrites why a past decision was made.
    """

    class Kind(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        REMOVED = "removed", "Removed"
        WARNED_DAYS_BELOW = "warned_days_below", "Warned: days below threshold"
        WARNED_CONTACT = "warned_contact", "Warned: emergency contact"

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="enrollment_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    effective_on = models.DateField()
    reason = models.TextField()
    rules = models.JSONField(default=dict)
    mutable_fields = ("emailed_at",)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["seller", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.seller.seller_id} on {self.effective_on}"


class PhoneVerification(models.Model):
    """One one-time code sent to a seller's emergency contact number, and the tries at it.

    The code itself is never stored: the channel (Twilio Verify, or the console adapter)
    keeps it and answers whether a code is right. Rules: ``sellers.services.verification``.
    """

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        CALL = "call", "Voice call"

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="phone_verifications")
    phone = PhoneNumberField(help_text="The number the code went to.")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    verification_sid = models.CharField(
        "verification id",
        max_length=64,
        blank=True,
        help_text="The channel's id of the code; empty while the code is being sent.",
    )
    sent_at = models.DateTimeField(default=timezone.now)
    wrong_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="Too many wrong codes: no codes sent or checked until."
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        # "Codes sent to this seller in the last hour" and "this seller's latest code".
        indexes = [models.Index(fields=["seller", "-sent_at"])]

    def __str__(self) -> str:
        sent = f"{self.sent_at:%Y-%m-%d %H:%M}"
        return f"{self.get_channel_display()} code for seller {self.seller.seller_id} at {sent}"


class BandChange(AppendOnlyModel):
    """A seller's AHR moved into another band: recorded by the evaluation, set-based."""

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="band_changes")
    from_band = models.CharField(
        max_length=16, choices=HealthBand.choices, blank=True, help_text="Empty: the first value."
    )
    to_band = models.CharField(max_length=16, choices=HealthBand.choices)
    score = models.PositiveSmallIntegerField()
    effective_on = models.DateField(help_text="The day of the value that moved the band.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-effective_on", "-id"]
        indexes = [models.Index(fields=["seller", "-effective_on"], name="band_change_seller_idx")]

    def __str__(self) -> str:
        return f"{self.seller.seller_id}: {self.from_band or '-'} → {self.to_band}"


class SellerNotification(models.Model):
    """One entry of the seller's notification centre on the portal (the bell).

    Written in the seller's store language when it is posted: what happened, why it
    matters and what to do, with a link. ``dedupe_key`` makes posting the same news twice
    (a retried task, two workers) one notification.
    """

    class Kind(models.TextChoices):
        ENROLLMENT = "enrollment", _("Enrollment and removal")
        CRITICAL_CASE = "critical_case", _("Critical policy cases")
        ACCOUNT_HEALTH = "account_health", _("Account health cases")
        PLAN_STEP = "plan_step", _("Plan steps due soon")
        CALLBACK = "callback", _("Call Me Now")
        VIOLATION = "violation", _("New policy violations")
        BAND_CHANGE = "band_change", _("Rating band changes")

    # Sent by email whatever the preferences say: a case under the 72-hour promise, and a
    # call back the seller asked for.
    URGENT_KINDS = (Kind.CRITICAL_CASE, Kind.CALLBACK)

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=2_000, help_text="Why it matters and what to do.")
    link = models.CharField(max_length=300, blank=True, help_text="A path on this site.")
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Email: asked for by the poster, sent (or skipped by the preferences) by
    # sellers.tasks.send_notification_emails, which sets emailed_at either way.
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["seller", "-created_at", "-id"], name="notice_seller_idx"),
            # The bell: unread notifications of one seller.
            models.Index(
                fields=["seller"],
                condition=models.Q(read_at__isnull=True),
                name="notice_unread_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(email_wanted=True, emailed_at__isnull=True),
                name="notice_email_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller.seller_id}: {self.title}"

    @property
    def urgent(self) -> bool:
        return self.kind in self.URGENT_KINDS


class NotificationPreferences(models.Model):
    """What a seller wants by email, per kind of notification, and a second address.

    No row means the defaults: every email on, no second address. The portal shows every
    notification whatever the preferences; urgent kinds are emailed regardless.
    """

    Kind = SellerNotification.Kind
    # The kinds a seller may switch off, and their field.
    OPTIONAL_KINDS = {
        Kind.ENROLLMENT: "email_enrollment",
        Kind.ACCOUNT_HEALTH: "email_account_health",
        Kind.PLAN_STEP: "email_plan_step",
        Kind.VIOLATION: "email_violation",
        Kind.BAND_CHANGE: "email_band_change",
    }

    seller = models.OneToOneField(
        Seller, on_delete=models.CASCADE, primary_key=True, related_name="notification_preferences"
    )
    second_email = models.EmailField(
        blank=True, help_text=_("Also send every email we send to this address.")
    )
    email_enrollment = models.BooleanField(_("Enrollment and removal"), default=True)
    email_account_health = models.BooleanField(_("Account health cases"), default=True)
    email_plan_step = models.BooleanField(_("Plan steps due soon"), default=True)
    email_violation = models.BooleanField(_("New policy violations"), default=True)
    email_band_change = models.BooleanField(_("Rating band changes"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"Notification preferences of {self.seller.seller_id}"

    @classmethod
    def of(cls, seller: Seller) -> "NotificationPreferences":
        """The seller's preferences, or the defaults (unsaved) when they set none."""
        try:
            return seller.notification_preferences
        except cls.DoesNotExist:
            return cls(seller=seller)

    def wants_email(self, kind: str) -> bool:
        field = self.OPTIONAL_KINDS.get(kind)
        return field is None or getattr(self, field)
