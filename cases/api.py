"""``/api/v1/cases/``: everything the desk does with a case, for upstream systems and the desk.

Open, list and read cases; fire transitions; the remediation plan (steps), notes and
assignment. Each write calls the same service as the desk's page for it, so it writes
the same audit event, and is allowed to exactly whom the desk allows it
(``desk_permissions``). A case the reader may not see is a 404 before anything else.
Errors are RFC 9457 problems from the one handler (``config.problem_details``).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from cases.filters import CaseFilter
from cases.models import Case, CaseEvent, CaseNote, RemediationStep
from cases.selectors import (
    case_assignee,
    case_attempts,
    case_events,
    case_list,
    cases_visible_to,
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
)
from config.errors import NotFound
from config.problem_details import problem_responses
from notifications.models import ContactAttempt
from sellers.models import PolicyArea, Seller, Severity
from sellers.validators import seller_id_field, upstream_id_field


class OpensCases(BasePermission):
    message = "Only upstream systems, specialists and managers open cases."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method != "POST" or request.user.has_perm("cases.open_case")


class DeskPermissions(BasePermission):
    """What the desk's page for the same action requires, checked on the case once found.

    ``view.desk_permissions`` maps an HTTP method to ``(permissions, refusal)``; a
    method not in it needs nothing beyond seeing the case.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: object) -> bool:
        needed, refusal = getattr(view, "desk_permissions", {}).get(request.method, ((), ""))
        if request.user.has_perms(needed):
            return True
        self.message = refusal
        return False


class CaseEventOut(serializers.ModelSerializer):
    """An event as ``case_events`` gives it: ``actor`` in words for the reader."""

    actor = serializers.CharField(source="shown_actor")

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "kind",
            "transition",
            "from_status",
            "to_status",
            "actor",
            "reason",
            "created_at",
        ]


class ContactAttemptOut(serializers.ModelSerializer):
    class Meta:
        model = ContactAttempt
        fields = [
            "id",
            "channel",
            "purpose",
            "destination",
            "provider_id",
            "status",
            "outcome",
            "answered_by",
            "history",
            "error",
            "tries",
            "created_at",
            "sent_at",
            "connected_at",
        ]


class CaseOut(serializers.ModelSerializer):
    """A case for the reader in ``context["request"]``: a seller is not told usernames."""

    seller_id = serializers.CharField(source="seller.seller_id")
    store = serializers.CharField(source="seller.store.code")
    assigned_to = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "kind",
            "seller_id",
            "store",
            "policy_area",
            "severity",
            "summary",
            "upstream_id",
            "status",
            "assured",
            "assigned_to",
            *Case.MILESTONE_FIELDS,
            "next_action_at",
            "call_rounds",
        ]

    def get_assigned_to(self, case: Case) -> str | None:
        return case_assignee(case, self.context["request"].user)


class CaseDetailOut(CaseOut):
    events = serializers.SerializerMethodField()

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "evidence", "events"]

    @extend_schema_field(CaseEventOut(many=True))
    def get_events(self, case: Case) -> list:
        return CaseEventOut(case_events(case, self.context["request"].user), many=True).data


def max_length_of(model: type, field: str) -> int:
    """A text limit, kept on the model field (the schema's maxLength, the desk's forms)."""
    return model._meta.get_field(field).max_length


class CaseIn(serializers.Serializer):
    # Checked as a seller id before the look-up: a NUL in it was a 500 on PostgreSQL.
    seller_id = seller_id_field(source="seller")
    # A client opens critical policy cases only: account-health cases are AHA Desk's own,
    # opened by the rating evaluation (cases.health). Sending another kind is a 400 naming
    # the field rather than silently opening a case of the wrong kind.
    kind = serializers.ChoiceField(
        choices=[(Case.Kind.CRITICAL_POLICY.value, Case.Kind.CRITICAL_POLICY.label)],
        required=False,
        default=Case.Kind.CRITICAL_POLICY.value,
        help_text=(
            "Optional; only critical_policy. Account-health cases are opened by AHA Desk "
            "when a seller's rating leaves Healthy, never through the API."
        ),
        error_messages={
            "invalid_choice": (
                "Only critical_policy cases are opened through the API: account-health "
                "cases are opened by AHA Desk when a seller's rating leaves Healthy."
            )
        },
    )
    policy_area = serializers.ChoiceField(choices=PolicyArea.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    summary = serializers.CharField(max_length=max_length_of(Case, "summary"))
    evidence = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=max_length_of(Case, "evidence")
    )
    upstream_id = upstream_id_field(required=False, allow_null=True)

    def validate_seller_id(self, value: str) -> Seller:
        seller = Seller.objects.filter(seller_id=value).first()
        if seller is None:
            raise serializers.ValidationError(f"There is no seller {value}.")
        return seller


class RemediationStepOut(serializers.ModelSerializer):
    class Meta:
        model = RemediationStep
        fields = ["id", "text", "owner", "due_on", "done_at"]


class RemediationStepIn(serializers.Serializer):
    text = serializers.CharField(
        max_length=max_length_of(RemediationStep, "text"),
        error_messages={"blank": "Say what has to be done."},
    )
    owner = serializers.ChoiceField(choices=RemediationStep.Owner.choices)
    due_on = serializers.DateField(input_formats=["iso-8601"])


class CaseNoteOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")

    class Meta:
        model = CaseNote
        fields = ["id", "text", "author", "created_at"]


class CaseNoteIn(serializers.Serializer):
    text = serializers.CharField(
        max_length=max_length_of(CaseNote, "text"),
        error_messages={"blank": "Write something in the note."},
    )


class AssignmentIn(serializers.Serializer):
    # Text first (CharField refuses a NUL, which was a 500 on PostgreSQL), then the user.
    assigned_to = serializers.CharField(
        allow_null=True,
        max_length=User._meta.get_field("username").max_length,
        help_text="Username of the specialist, or null to unassign.",
    )

    def validate_assigned_to(self, value: str | None) -> User | None:
        if value is None:
            return None
        user = User.objects.filter(is_active=True, username=value).first()
        if user is None:
            raise serializers.ValidationError(f"No active user is called {value}.")
        return user


class CaseView(APIView):
    """A view of one case: found among those the reader may see, then checked for the
    desk's permissions of the request's method."""

    permission_classes = [*APIView.permission_classes, DeskPermissions]
    desk_permissions: dict[str, tuple[tuple[str, ...], str]] = {}

    def get_case(self, case_id: int, cases=None) -> Case:
        cases = cases if cases is not None else cases_visible_to(self.request.user)
        case = cases.filter(pk=case_id).first()
        if case is None:
            raise NotFound(f"There is no case {case_id}, or it is not yours to see.")
        self.check_object_permissions(self.request, case)
        return case


class CaseCollection(ListAPIView):
    permission_classes = [*APIView.permission_classes, OpensCases]
    serializer_class = CaseOut
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter

    def get_queryset(self):
        return case_list(viewer=self.request.user, status=list(Case.Status.values))

    @extend_schema(
        responses={200: CaseOut(many=True), **problem_responses(400, 401)},
        summary="Cases you may see, most urgent deadline first.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CaseIn,
        responses={201: CaseOut, 200: CaseOut, **problem_responses(400, 401, 403, 409)},
        summary=(
            "Open a case; the same upstream_id again answers the existing case (200), "
            "or 409 when it is another seller's."
        ),
    )
    def post(self, request: Request) -> Response:
        incoming = CaseIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        case, created = case_open(
            seller=data["seller"],
            policy_area=data["policy_area"],
            severity=data["severity"],
            summary=data["summary"],
            evidence=data["evidence"],
            upstream_id=data.get("upstream_id"),
            by=request.user,
        )
        case = cases_visible_to(request.user).get(pk=case.pk)
        return Response(
            CaseOut(case, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CaseDetail(CaseView):
    @extend_schema(
        responses={200: CaseDetailOut, **problem_responses(401, 404)},
        summary="One case with its events.",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        return Response(CaseDetailOut(case, context={"request": request}).data)


class CaseEvents(CaseView):
    @extend_schema(
        responses={200: CaseEventOut(many=True), **problem_responses(401, 404)},
        summary="The audit trail of a case, oldest first.",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        return Response(CaseEventOut(case_events(case, request.user), many=True).data)


class CaseAttempts(CaseView):
    @extend_schema(
        responses={200: ContactAttemptOut(many=True), **problem_responses(401, 404)},
        summary="Calls, texts and emails sent about a case, with their status history.",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        return Response(ContactAttemptOut(case_attempts(case, request.user), many=True).data)


class CaseTransition(CaseView):
    @extend_schema(
        request=inline_serializer(
            "TransitionIn",
            {
                # Checked by case_transition, for the desk too: kept as the case's note.
                "reason": serializers.CharField(
                    required=False, max_length=max_length_of(Case, "escalation_note")
                ),
                # Recording contact only: how the seller was reached, and the evidence.
                "channel": serializers.ChoiceField(
                    required=False, choices=list(CONTACT_CHANNELS.items())
                ),
                "evidence": serializers.CharField(
                    required=False, max_length=CONTACT_EVIDENCE_MAX_LENGTH
                ),
            },
        ),
        responses={200: CaseOut, **problem_responses(400, 401, 403, 404, 409)},
        parameters=[
            OpenApiParameter("name", enum=list(TRANSITIONS), location=OpenApiParameter.PATH)
        ],
        summary="Fire a transition; 409 when not possible now, 403 when not yours to fire.",
    )
    def post(self, request: Request, case_id: int, name: str) -> Response:
        self.get_case(case_id)
        data = request.data if isinstance(request.data, dict) else {}
        texts = {field: data.get(field, "") for field in ("reason", "channel", "evidence")}
        for field, value in texts.items():
            if not isinstance(value, str):
                raise serializers.ValidationError({field: ["Must be text."]})
        case_transition(case_id=case_id, name=name, by=request.user, **texts)
        case = cases_visible_to(request.user).get(pk=case_id)
        return Response(CaseOut(case, context={"request": request}).data)


class CaseSteps(CaseView):
    """The remediation plan: every reader of the case sees it (the seller too)."""

    desk_permissions = {
        "POST": (
            ("accounts.use_desk", "cases.add_remediationstep"),
            "Only the desk adds steps to a plan.",
        ),
    }

    @extend_schema(
        responses={200: RemediationStepOut(many=True), **problem_responses(401, 404)},
        summary="The case's plan steps, soonest due first.",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        return Response(RemediationStepOut(case.steps.all(), many=True).data)

    @extend_schema(
        request=RemediationStepIn,
        responses={201: RemediationStepOut, **problem_responses(400, 401, 403, 404, 409)},
        summary="Add a step to the plan the seller sees; 409 once the case is closed.",
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        incoming = RemediationStepIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        step = remediation_step_add(case_id=case.pk, by=request.user, **incoming.validated_data)
        return Response(RemediationStepOut(step).data, status=status.HTTP_201_CREATED)


class CaseStepDone(CaseView):
    desk_permissions = {
        "POST": (
            ("accounts.use_desk", "cases.change_remediationstep"),
            "Only the desk marks plan steps done.",
        ),
    }

    @extend_schema(
        request=None,
        responses={200: RemediationStepOut, **problem_responses(401, 403, 404, 409)},
        summary="Mark a plan step done (again: no change); 409 once the case is closed.",
    )
    def post(self, request: Request, case_id: int, step_id: int) -> Response:
        case = self.get_case(case_id)
        if not case.steps.filter(pk=step_id).exists():
            raise NotFound(f"Case {case_id} has no plan step {step_id}.")
        step = remediation_step_complete(step_id=step_id, by=request.user)
        return Response(RemediationStepOut(step).data)


class CaseNotes(CaseView):
    """Notes are the desk's own: never shown to a seller, even on the seller's case."""

    desk_permissions = {
        "GET": (
            ("accounts.use_desk", "cases.view_casenote"),
            "Notes are internal to the desk.",
        ),
        "POST": (
            ("accounts.use_desk", "cases.add_casenote"),
            "Only the desk adds notes to cases.",
        ),
    }

    @extend_schema(
        responses={200: CaseNoteOut(many=True), **problem_responses(401, 403, 404)},
        summary="The desk's notes on a case, oldest first.",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        return Response(CaseNoteOut(case.notes.select_related("author"), many=True).data)

    @extend_schema(
        request=CaseNoteIn,
        responses={201: CaseNoteOut, **problem_responses(400, 401, 403, 404)},
        summary="Add a note to a case (an event on its trail).",
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        incoming = CaseNoteIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        note = case_add_note(case_id=case.pk, by=request.user, text=incoming.validated_data["text"])
        return Response(CaseNoteOut(note).data, status=status.HTTP_201_CREATED)


class CaseAssignment(CaseView):
    desk_permissions = {
        "POST": (("accounts.use_desk", "cases.assign_case"), "Only managers assign cases."),
    }

    @extend_schema(
        request=AssignmentIn,
        responses={200: CaseOut, **problem_responses(400, 401, 403, 404)},
        summary="Assign the case to a specialist, or to nobody (managers).",
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = self.get_case(case_id)
        incoming = AssignmentIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        case_assign(case_id=case.pk, to=incoming.validated_data["assigned_to"], by=request.user)
        case = cases_visible_to(request.user).get(pk=case.pk)
        return Response(CaseOut(case, context={"request": request}).data)
