"""The specialist desk (``/desk/``): the queue, one case's page, and the writes it offers.

Every write calls a service of ``cases.services``; the views only translate its answers
into pages: a conflict (the case moved on) is an error message on the case's page, a
missing reason is an error message with nothing changed, a refusal is the 403 page.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from cases.forms import AssignForm, NewCaseForm, NoteForm, QueueFilterForm, RemediationStepForm
from cases.models import Case, RemediationStep
from cases.selectors import (
    account_health_queue,
    case_open_violations,
    case_queue,
    case_timeline,
    cases_visible_to,
    first_attempt_late,
)
from cases.services import (
    CONTACT_CHANNELS,
    CONTACT_EVIDENCE_MAX_LENGTH,
    TRANSITIONS,
    case_add_note,
    case_assign,
    case_open,
    case_transition,
    remediation_step_add,
    remediation_step_complete,
    transition_spec,
    transitions_for,
)
from config.errors import InvalidInput
from config.problem_details import ProblemsAsMessagesMixin
from sellers.assurance import AT_RISK, HEALTHY, UNHEALTHY, band
from sellers.selectors import seller_assurance

QUEUE_PAGE_SIZE = 50
# Under this much time left before the reach deadline a case shows red.
URGENT_WITHIN = dt.timedelta(hours=24)
BAND_LABELS = {HEALTHY: "Healthy", AT_RISK: "At Risk", UNHEALTHY: "Unhealthy"}


def remaining(delta: dt.timedelta) -> str:
    """``2 d 05 h 12 m`` for a day or more, ``5 h 12 m 03 s`` under a day (as the script)."""
    seconds = max(int(delta.total_seconds()), 0)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours:02} h {minutes:02} m"
    return f"{hours} h {minutes:02} m {seconds:02} s"


@dataclass(frozen=True)
class Countdown:
    """Time left to reach the seller of a case not reached yet."""

    deadline: dt.datetime
    state: str  # "ok", "urgent" (under 24 h) or "overdue"
    text: str

    @classmethod
    def of(cls, case: Case, now: dt.datetime) -> "Countdown | None":
        if case.reach_deadline is None or case.status != Case.Status.OPENED:
            return None
        left = case.reach_deadline - now
        if left <= dt.timedelta(0):
            return cls(case.reach_deadline, "overdue", f"Overdue by {remaining(-left)}")
        state = "urgent" if left < URGENT_WITHIN else "ok"
        return cls(case.reach_deadline, state, f"{remaining(left)} left")


class QueueView(PermissionRequiredMixin, View):
    """My queue (cases assigned to me) or the team queue (every open case), most urgent first.

    Two kinds of case, two queues (``?kind=``): critical policy cases (the default, the
    72-hour promise, by time left to reach the seller) and account-health cases (opened
    when a rating leaves Healthy, by their first-attempt target). The default stays the
    critical queue alone: mixing the two would bury the promise's countdowns under cases
    that have none, and put every account-health case last whatever its own target.
    """

    permission_required = "accounts.use_desk"

    def get(self, request: HttpRequest) -> HttpResponse:
        scope = "team" if request.GET.get("scope") == "team" else "mine"
        health = request.GET.get("kind") == Case.Kind.ACCOUNT_HEALTH
        kind = Case.Kind.ACCOUNT_HEALTH if health else Case.Kind.CRITICAL_POLICY
        form = QueueFilterForm(request.GET)
        filters, ignored = form.applied()
        for sentence in ignored:
            messages.warning(request, sentence)
        visible = cases_visible_to(request.user)
        selected = {
            "user": request.user if scope == "mine" else None,
            "status": [filters["status"]] if filters["status"] else None,
            "store": filters["store"],
            "severity": filters["severity"],
            "policy_area": filters["policy_area"],
        }
        if health:
            cases = account_health_queue(cases=visible, **selected)
        else:
            cases = case_queue(cases=visible.filter(kind=Case.Kind.CRITICAL_POLICY), **selected)
        page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for case in page:
            case.countdown = Countdown.of(case, now)
            case.first_attempt_late = first_attempt_late(case, now)
            state = getattr(case.seller, "assurance", None) if health else None
            case.seller_score = state.latest_score if state else None
            case.seller_band = band(case.seller_score)
            case.seller_band_label = BAND_LABELS.get(case.seller_band, "")
        mine = Q(assigned_to=request.user)
        in_scope = mine if scope == "mine" else Q()
        counts = visible.filter(status__in=Case.OPEN_STATUSES).aggregate(
            mine=Count("pk", filter=mine & Q(kind=kind)),
            team=Count("pk", filter=Q(kind=kind)),
            critical_policy=Count("pk", filter=in_scope & Q(kind=Case.Kind.CRITICAL_POLICY)),
            account_health=Count("pk", filter=in_scope & Q(kind=Case.Kind.ACCOUNT_HEALTH)),
        )
        context = {
            "scope": scope,
            "kind": kind,
            "form": form,
            "filtered": any(filters.values()),
            "page": page,
            "counts": counts,
            "can_open": request.user.has_perm("cases.open_case"),
        }
        return render(request, "cases/queue.html", context)


def render_case(
    request: HttpRequest,
    case: Case,
    *,
    note_form: NoteForm | None = None,
    step_form: RemediationStepForm | None = None,
) -> HttpResponse:
    """The case page; a POST whose form has errors renders it again with that form bound."""
    user = request.user
    seller = case.seller
    steps = list(case.steps.all())
    # The way forward first, escalation last, whatever order django-fsm finds them in.
    transitions = sorted(transitions_for(case, user), key=lambda spec: TRANSITIONS.index(spec.name))
    names = {spec.name for spec in transitions}
    hints = []
    if case.status == Case.Status.CONTACTED and not steps:
        hints.append("Add a plan step to start remediation.")
    if case.status == Case.Status.IN_REMEDIATION and "resolve" not in names:
        hints.append("Mark every plan step done to resolve the case.")
    assurance = seller_assurance(seller)
    now = timezone.now()
    can_assign = user.has_perm("cases.assign_case")
    context = {
        "case": case,
        "seller": seller,
        "assurance": assurance,
        "band_label": BAND_LABELS.get(assurance["band"], ""),
        # seller_assurance read the contact already: the relation is cached on ``seller``.
        "contact": getattr(seller, "emergency_contact", None),
        "countdown": None if case.is_account_health else Countdown.of(case, now),
        # Account-health cases: the first-attempt target and what costs the seller points.
        "first_attempt_late": first_attempt_late(case, now),
        "first_attempt_business_days": settings.AHA["HEALTH_FIRST_ATTEMPT_BUSINESS_DAYS"],
        "violations": list(case_open_violations(case)) if case.is_account_health else [],
        "events": case_timeline(case, user),
        "notes": case.notes.select_related("author"),
        "steps": steps,
        "today": timezone.localdate(),
        "transitions": transitions,
        "quick_transitions": [
            spec for spec in transitions if not spec.needs_reason and spec.name != "contact"
        ],
        "contact_transition": "contact" in names,
        "contact_channels": CONTACT_CHANNELS.items(),
        "evidence_max_length": CONTACT_EVIDENCE_MAX_LENGTH,
        "reason_transitions": [spec for spec in transitions if spec.needs_reason],
        "hints": hints,
        "note_form": note_form or NoteForm(),
        "step_form": step_form
        or RemediationStepForm(initial={"due_on": timezone.localdate() + dt.timedelta(days=7)}),
        "assign_form": AssignForm(initial={"assigned_to": case.assigned_to_id})
        if can_assign
        else None,
    }
    return render(request, "cases/detail.html", context)


class CaseMixin(ProblemsAsMessagesMixin, PermissionRequiredMixin):
    """The case of the URL among those the user may see, else 404.

    A conflict or refused input from a service is an error message on the case page
    (``ProblemsAsMessagesMixin``); the views do not catch them one by one.
    """

    permission_required = "accounts.use_desk"
    # Where on the case page a refused write sends the user back to.
    problem_anchor = ""

    def problem_return_url(self) -> str:
        url = reverse("cases:detail", args=[self.kwargs["pk"]])
        return url + (f"#{self.problem_anchor}" if self.problem_anchor else "")

    def get_case(self) -> Case:
        return get_object_or_404(cases_visible_to(self.request.user), pk=self.kwargs["pk"])

    def back(self, case: Case, anchor: str = "") -> HttpResponse:
        return redirect(case.get_absolute_url() + (f"#{anchor}" if anchor else ""))


class CaseDetailView(CaseMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render_case(request, self.get_case())


class TransitionView(CaseMixin, View):
    """Fires one transition; the services decide whether it may happen now."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        case = self.get_case()
        spec = transition_spec(name)  # an unknown name is a 404 (UnknownTransition)
        case = case_transition(
            case_id=case.pk,
            name=name,
            by=request.user,
            reason=request.POST.get("reason", ""),
            channel=request.POST.get("channel", ""),
            evidence=request.POST.get("evidence", ""),
        )
        messages.success(request, f"The case was {spec.done}.")
        return self.back(case)


class NoteView(CaseMixin, View):
    permission_required = ("accounts.use_desk", "cases.add_casenote")
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = self.get_case()
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                case_add_note(case_id=case.pk, by=request.user, text=form.cleaned_data["text"])
            except InvalidInput as error:  # on the form, keeping what was typed
                form.add_error("text", error.messages)
            else:
                messages.success(request, "Note added.")
                return self.back(case, "notes")
        return render_case(request, case, note_form=form)


class StepAddView(CaseMixin, View):
    permission_required = ("accounts.use_desk", "cases.add_remediationstep")
    http_method_names = ["post"]
    problem_anchor = "plan"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = self.get_case()
        form = RemediationStepForm(request.POST)
        if form.is_valid():
            try:
                remediation_step_add(case_id=case.pk, by=request.user, **form.cleaned_data)
            except InvalidInput as error:  # on the form, keeping what was typed
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Plan step added.")
                return self.back(case, "plan")
        return render_case(request, case, step_form=form)


class StepDoneView(CaseMixin, View):
    permission_required = ("accounts.use_desk", "cases.change_remediationstep")
    http_method_names = ["post"]
    problem_anchor = "plan"

    def post(self, request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
        case = self.get_case()
        step = get_object_or_404(RemediationStep, pk=step_id, case=case)
        already_done = step.done_at is not None
        remediation_step_complete(step_id=step.pk, by=request.user)
        if already_done:
            messages.info(request, f"“{step.text}” was already done.")
        else:
            messages.success(request, f"Marked “{step.text}” done.")
        return self.back(case, "plan")


class AssignView(CaseMixin, View):
    """Managers reassign a case (``case_assign`` refuses anyone else: the 403 page)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = self.get_case()
        form = AssignForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["assigned_to"]))
            return self.back(case)
        to = form.cleaned_data["assigned_to"]
        case_assign(case_id=case.pk, to=to, by=request.user)
        who = (to.get_full_name() or to.get_username()) if to else "nobody"
        messages.success(request, f"The case is assigned to {who}.")
        return self.back(case)


class NewCaseView(PermissionRequiredMixin, View):
    """A specialist opens a case by hand; the rules of opening are ``case_open``'s."""

    permission_required = ("accounts.use_desk", "cases.open_case")

    def get(self, request: HttpRequest) -> HttpResponse:
        form = NewCaseForm(initial={"seller_id": request.GET.get("seller_id", "")})
        return render(request, "cases/new.html", {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = NewCaseForm(request.POST)
        if not form.is_valid():
            return render(request, "cases/new.html", {"form": form})
        data = form.cleaned_data
        case, _created = case_open(
            seller=data["seller_id"],
            policy_area=data["policy_area"],
            severity=data["severity"],
            summary=data["summary"],
            evidence=data["evidence"],
            by=request.user,
        )
        messages.success(
            request,
            f"Case {case.pk} opened for {case.seller.name}."
            + ("" if case.assured else " The seller is not enrolled: no 72-hour guarantee."),
        )
        return redirect(reverse("cases:detail", args=[case.pk]))
