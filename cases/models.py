"""Cases: one critical policy issue of one seller, and its lifecycle (docs/domain.md "Cases").

The lifecycle, readable from the transitions below::

    opened ──contact──▶ contacted ──start_remediation──▶ in_remediation ──resolve──▶ resolved
       │                   │                                   │
       └──escalate──▶ escalated ◀──────────escalate────────────┘
                         │
                         └──reinstate (managers)──▶ contacted

An account-health case (``kind``) also closes by itself: ``recover``, from any open
state to resolved, when the seller's rating has been Healthy long enough (cases.health).

``status`` is protected: only these transitions change it, fired by the services in
``cases.services`` under a row lock. Every transition leaves a ``CaseEvent``.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from config.append_only import AppendOnlyModel
from sellers.models import PolicyArea, Seller, Severity
from sellers.validators import UPSTREAM_ID_MAX_LENGTH, validate_upstream_id


def _nobody(instance: "Case", user: object) -> bool:
    return False


class Case(ConcurrentTransitionMixin, models.Model):
    class Kind(models.TextChoices):
        CRITICAL_POLICY = "critical_policy", "Critical policy issue"
        ACCOUNT_HEALTH = "account_health", "Account health"

    class Status(models.TextChoices):
        OPENED = "opened", "Opened"
        CONTACTED = "contacted", "Contacted"
        IN_REMEDIATION = "in_remediation", "In remediation"
        RESOLVED = "resolved", "Resolved"
        ESCALATED = "escalated", "Escalated"

    class EscalationReason(models.TextChoices):
        UNREACHABLE = "unreachable", "Unreachable within the deadline"
        NON_COOPERATION = "non_cooperation", "Seller stopped cooperating"
        MANUAL = "manual", "Escalated by a specialist"

    class AttemptPurpose(models.TextChoices):
        """Why a call, text or email about a case was sent (``ContactAttempt.purpose``)."""

        OUTREACH = "outreach", "Outreach to the seller"
        DEADLINE_WARNING = "deadline_warning", "Deadline warning"
        INACTIVITY_WARNING = "inactivity_warning", "Inactivity warning"
        HEALTH_WARNING = "health_warning", "Rating fell to Unhealthy (to the specialist)"

    OPEN_STATUSES = (Status.OPENED, Status.CONTACTED, Status.IN_REMEDIATION)
    # The deadline and the time of each milestone, as the admin and the API show them.
    MILESTONE_FIELDS = (
        "opened_at",
        "reach_deadline",
        "first_attempt_due",
        "first_attempt_at",
        "contacted_at",
        "sla_met",
        "remediation_started_at",
        "resolved_at",
        "resolution_reason",
        "escalated_at",
        "escalation_reason",
    )
    # What the desk sends itself: never shown to the seller.
    INTERNAL_PURPOSES = (AttemptPurpose.DEADLINE_WARNING, AttemptPurpose.HEALTH_WARNING)

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.CRITICAL_POLICY,
        help_text=(
            "Critical policy issue: opened upstream, the 72-hour promise when assured. "
            "Account health: opened by AHA Desk when the seller's rating leaves Healthy."
        ),
    )
    policy_area = models.CharField(max_length=32, choices=PolicyArea.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    # Text limits (issue 9): the API's serializers and the desk's forms take them from here.
    summary = models.CharField(max_length=300)
    evidence = models.TextField(blank=True, max_length=20_000)
    upstream_id = models.CharField(
        max_length=UPSTREAM_ID_MAX_LENGTH,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_upstream_id],
        help_text="The upstream system's id of the issue: the same issue twice is one case.",
    )
    assured = models.BooleanField(
        default=False,
        help_text="The seller was enrolled in AHA when the case opened: the 72-hour promise holds.",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    status = FSMField(default=Status.OPENED, choices=Status.choices, protected=True, db_index=False)
    opened_at = models.DateTimeField(default=timezone.now)
    reach_deadline = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    first_attempt_due = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Account health cases: the first call is due within one business day.",
    )
    contacted_at = models.DateTimeField(null=True, blank=True)
    sla_met = models.BooleanField(null=True, blank=True, help_text="Reached before the deadline.")
    remediation_started_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.TextField(blank=True, max_length=2_000)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(
        max_length=24, choices=EscalationReason.choices, blank=True
    )
    escalation_note = models.TextField(blank=True, max_length=2_000)
    reinstated_at = models.DateTimeField(null=True, blank=True)
    last_seller_activity_at = models.DateTimeField(null=True, blank=True)
    # Timers (cases.outreach, acted on by the sweep in cases.timers): when the case next
    # needs the sweep, and how far its outreach has gone.
    next_action_at = models.DateTimeField(null=True, blank=True)
    outreach_started_at = models.DateTimeField(null=True, blank=True)
    call_rounds = models.PositiveSmallIntegerField(default=0)
    deadline_warnings = models.PositiveSmallIntegerField(default=0)
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Calls, texts and emails about the case (notifications knows no case: the link is ours).
    attempts = GenericRelation(
        "notifications.ContactAttempt",
        content_type_field="subject_type",
        object_id_field="subject_id",
        related_query_name="case",
    )

    class Meta:
        permissions = [
            ("reinstate_case", "Can reinstate an escalated case"),
            ("assign_case", "Can assign cases to specialists"),
            ("open_case", "Can open cases"),
            ("receive_deadline_warnings", "Gets the deadline warnings of every case"),
            ("correct_case", "Can correct the summary, evidence, severity and policy area"),
        ]
        # Measured on 1M cases (benchmarks/case_queue.py): each queue page reads its
        # first rows straight from one of these, with no sort.
        indexes = [
            models.Index(
                fields=["assigned_to", "reach_deadline", "opened_at", "id"],
                condition=models.Q(status__in=["opened", "contacted", "in_remediation"]),
                name="case_open_assignee_idx",
            ),
            models.Index(
                fields=["reach_deadline", "opened_at", "id"],
                condition=models.Q(status__in=["opened", "contacted", "in_remediation"]),
                name="case_open_deadline_idx",
            ),
            # The API lists every status: by assignee, and the whole table.
            models.Index(
                fields=["assigned_to", "reach_deadline", "opened_at", "id"],
                name="case_assignee_order_idx",
            ),
            models.Index(
                fields=["reach_deadline", "opened_at", "id"], name="case_deadline_order_idx"
            ),
            models.Index(fields=["seller", "-opened_at"], name="case_seller_idx"),
            # Account-health cases (issue 15): their desk queue (earliest first-call target
            # first), the API's list of them (no deadline, so by opening), their report.
            models.Index(
                fields=["first_attempt_due", "opened_at", "id"],
                condition=models.Q(
                    kind="account_health", status__in=["opened", "contacted", "in_remediation"]
                ),
                name="case_health_open_due_idx",
            ),
            models.Index(
                fields=["assigned_to", "first_attempt_due", "opened_at", "id"],
                condition=models.Q(
                    kind="account_health", status__in=["opened", "contacted", "in_remediation"]
                ),
                name="case_health_open_assignee_idx",
            ),
            models.Index(
                fields=["reach_deadline", "opened_at", "id"],
                condition=models.Q(kind="account_health"),
                name="case_health_order_idx",
            ),
            # The sweep reads only the cases with a timer set, earliest first; with the id
            # a batch of a wave (50,000 cases due at one moment) is read in order, unsorted.
            models.Index(
                fields=["next_action_at", "id"],
                condition=models.Q(next_action_at__isnull=False),
                name="case_next_action_idx",
            ),
        ]
        constraints = [
            # One open account-health case per seller (docs/domain.md "Account health").
            models.UniqueConstraint(
                fields=["seller"],
                condition=models.Q(
                    kind="account_health", status__in=["opened", "contacted", "in_remediation"]
                ),
                name="case_one_open_account_health",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} · {self.seller.seller_id} · {self.get_policy_area_display()}"

    def get_absolute_url(self) -> str:
        return reverse("cases:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_account_health(self) -> bool:
        return self.kind == self.Kind.ACCOUNT_HEALTH

    # --- Conditions ------------------------------------------------------------------

    def has_plan(self) -> bool:
        """Remediation starts from an agreed plan: at least one step."""
        return self.steps.exists()

    def plan_done(self) -> bool:
        """A case is resolved when every step of its plan is done."""
        return not self.steps.filter(done_at__isnull=True).exists()

    def about_account_health(self) -> bool:
        return self.kind == self.Kind.ACCOUNT_HEALTH

    # --- Transitions -----------------------------------------------------------------
    # Each takes ``by`` (the user) or ``process`` (a system process) and ``reason``;
    # the post_transition receiver in cases/signals.py turns them into the audit event.

    @transition(
        field=status,
        source=Status.OPENED,
        target=Status.CONTACTED,
        permission="accounts.use_desk",
        custom={"label": "Record contact", "done": "contacted", "needs_reason": False},
    )
    def contact(self, *, by=None, reason: str = "", process: str = "", at=None) -> None:
        self.contacted_at = at or timezone.now()
        self.sla_met = self.reach_deadline is None or self.contacted_at <= self.reach_deadline
        self.last_seller_activity_at = self.contacted_at

    @transition(
        field=status,
        source=Status.CONTACTED,
        target=Status.IN_REMEDIATION,
        conditions=[has_plan],
        permission="accounts.use_desk",
        custom={
            "label": "Start remediation",
            "done": "moved into remediation",
            "needs_reason": False,
        },
    )
    def start_remediation(self, *, by=None, reason: str = "", process: str = "") -> None:
        self.remediation_started_at = timezone.now()
        self.last_seller_activity_at = self.remediation_started_at

    @transition(
        field=status,
        source=Status.IN_REMEDIATION,
        target=Status.RESOLVED,
        conditions=[plan_done],
        permission="accounts.use_desk",
        custom={"label": "Resolve", "done": "resolved", "needs_reason": True},
    )
    def resolve(self, *, by=None, reason: str = "", process: str = "") -> None:
        self.resolved_at = timezone.now()
        self.resolution_reason = reason

    @transition(
        field=status,
        source=[Status.OPENED, Status.CONTACTED, Status.IN_REMEDIATION],
        target=Status.ESCALATED,
        permission="accounts.use_desk",
        custom={"label": "Escalate", "done": "escalated", "needs_reason": True},
    )
    def escalate(
        self, *, by=None, reason: str = "", process: str = "", kind: str = EscalationReason.MANUAL
    ) -> None:
        self.escalated_at = timezone.now()
        self.escalation_reason = kind
        self.escalation_note = reason

    @transition(
        field=status,
        source=[Status.OPENED, Status.CONTACTED, Status.IN_REMEDIATION],
        target=Status.RESOLVED,
        conditions=[about_account_health],
        # Fired only by the evaluation (cases.health), never from the desk or the API.
        permission=_nobody,
        custom={"label": "Close as recovered", "done": "closed as recovered", "needs_reason": True},
    )
    def recover(self, *, by=None, reason: str = "", process: str = "") -> None:
        """An account-health case closes by itself once the rating is Healthy again."""
        self.resolved_at = timezone.now()
        self.resolution_reason = reason

    @transition(
        field=status,
        source=Status.ESCALATED,
        target=Status.CONTACTED,
        permission="cases.reinstate_case",
        custom={"label": "Reinstate", "done": "reinstated", "needs_reason": True},
    )
    def reinstate(self, *, by=None, reason: str = "", process: str = "") -> None:
        self.reinstated_at = timezone.now()
        self.escalation_reason = ""
        self.escalation_note = ""
        self.escalated_at = None
        if self.contacted_at is None:
            # Reinstated by a manager who reached the seller another way.
            self.contacted_at = self.reinstated_at
            self.sla_met = False


class CaseEvent(AppendOnlyModel):
    """Append-only audit trail: transitions, notes, assignments, plan changes, corrections.

    A seller reads only the kinds in ``SELLER_KINDS`` (``cases.selectors.case_events``).
    """

    class Kind(models.TextChoices):
        TRANSITION = "transition", "Transition"
        NOTE = "note", "Note"
        ASSIGNMENT = "assignment", "Assignment"
        STEP_ADDED = "step_added", "Plan step added"
        STEP_DONE = "step_done", "Plan step done"
        OPENED = "opened", "Opened"
        WARNING = "warning", "Warning"
        OUTREACH = "outreach", "Outreach"
        CORRECTION = "correction", "Correction"

    # What the portal shows a seller: milestones, the plan, and how we tried to reach them.
    # Notes, warnings, assignments and corrections are the desk's own.
    SELLER_KINDS = (
        Kind.OPENED,
        Kind.TRANSITION,
        Kind.STEP_ADDED,
        Kind.STEP_DONE,
        Kind.OUTREACH,
    )

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    transition = models.CharField(max_length=32, blank=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_process = models.CharField(
        max_length=64, blank=True, help_text="The system process that acted, when no person did."
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_event_case_idx")]

    def __str__(self) -> str:
        if self.kind == self.Kind.TRANSITION:
            return f"{self.transition}: {self.from_status} → {self.to_status}"
        return self.get_kind_display()

    @property
    def actor_label(self) -> str:
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.username
        return self.actor_process or "system"


class RemediationStep(models.Model):
    class Owner(models.TextChoices):
        SELLER = "seller", "Seller"
        SPECIALIST = "specialist", "Specialist"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    text = models.TextField(max_length=500)
    owner = models.CharField(max_length=16, choices=Owner.choices)
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=10_000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]
