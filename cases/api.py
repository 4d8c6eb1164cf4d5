"""``/api/v1/cases/``: open cases (upstream systems, desk), read them, fire transitions."""

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from cases.models import Case, CaseEvent
from cases.selectors import case_queue, cases_visible_to
from cases.services import TRANSITIONS, CaseConflict, UnknownTransition, case_open, case_transition
from notifications.models import ContactAttempt
from sellers.models import PolicyArea, Seller, Severity


class OpensCases(BasePermission):
    message = "Only upstream systems, specialists and managers open cases."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method != "POST" or request.user.has_perm("cases.open_case")


class CaseEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

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


def attempts_visible_to(user: User, case: Case):
    """Staff see every attempt; a seller sees those addressed to the seller."""
    attempts = case.attempts.all()
    if user.has_perm("accounts.use_desk"):
        return attempts
    return attempts.exclude(purpose=ContactAttempt.Purpose.DEADLINE_WARNING)


class CaseOut(serializers.ModelSerializer):
    seller_id = serializers.CharField(source="seller.seller_id")
    store = serializers.CharField(source="seller.store.code")
    assigned_to = serializers.CharField(
        source="assigned_to.username", allow_null=True, default=None
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "seller_id",
            "store",
            "policy_area",
            "severity",
            "summary",
            "upstream_id",
            "status",
            "assured",
            "assigned_to",
            "opened_at",
            "reach_deadline",
            "first_attempt_at",
            "contacted_at",
            "sla_met",
            "remediation_started_at",
            "resolved_at",
            "resolution_reason",
            "escalated_at",
            "escalation_reason",
            "next_action_at",
            "call_rounds",
        ]


class CaseDetailOut(CaseOut):
    events = CaseEventOut(many=True, read_only=True)

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "evidence", "events"]


class CaseIn(serializers.Serializer):
    seller_id = serializers.SlugRelatedField(
        slug_field="seller_id", queryset=Seller.objects.all(), source="seller"
    )
    policy_area = serializers.ChoiceField(choices=PolicyArea.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    summary = serializers.CharField(max_length=300)
    evidence = serializers.CharField(required=False, allow_blank=True, default="")
    upstream_id = serializers.CharField(max_length=100, required=False, allow_null=True)


class ConflictOut(serializers.Serializer):
    error = serializers.CharField()
    status = serializers.CharField()
    allowed = serializers.ListField(child=serializers.CharField())


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in {"1", "true", "yes"}:
        return True
    if raw.lower() in {"0", "false", "no"}:
        return False
    raise ApiValidationError({name: [f"{raw!r} is not true or false."]})


class CaseCollection(APIView):
    permission_classes = [*APIView.permission_classes, OpensCases]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", description="One or more, comma-separated."),
            OpenApiParameter("seller_id"),
            OpenApiParameter("store", description="Store code, e.g. US."),
            OpenApiParameter("assigned_to", description="Username of the specialist."),
            OpenApiParameter(
                "overdue", OpenApiTypes.BOOL, description="Past the deadline, not reached."
            ),
        ],
        responses=CaseOut(many=True),
        summary="Cases you may see, most urgent deadline first.",
    )
    def get(self, request: Request) -> Response:
        statuses = [s for s in request.query_params.get("status", "").split(",") if s]
        unknown = sorted(set(statuses) - set(Case.Status.values))
        if unknown:
            raise ApiValidationError({"status": [f"Unknown status: {', '.join(unknown)}."]})
        cases = case_queue(
            cases=cases_visible_to(request.user),
            status=statuses or Case.Status.values,
            store=request.query_params.get("store") or None,
            overdue=_bool_param(request, "overdue"),
        )
        if seller_id := request.query_params.get("seller_id"):
            cases = cases.filter(seller__seller_id=seller_id)
        if assigned_to := request.query_params.get("assigned_to"):
            # By id, not through a join on username: the (assigned_to, deadline) index
            # then serves the order too.
            user_id = User.objects.filter(username=assigned_to).values_list("pk", flat=True).first()
            cases = cases.filter(assigned_to_id=user_id)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        return paginator.get_paginated_response(CaseOut(page, many=True).data)

    @extend_schema(
        request=CaseIn,
        responses={201: CaseOut, 200: CaseOut},
        summary="Open a case; the same upstream_id again answers the existing case (200).",
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
            CaseOut(case).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class CaseDetail(APIView):
    @extend_schema(responses=CaseDetailOut, summary="One case with its events.")
    def get(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(
            cases_visible_to(request.user).prefetch_related("events__actor"), pk=case_id
        )
        return Response(CaseDetailOut(case).data)


class CaseEvents(APIView):
    @extend_schema(responses=CaseEventOut(many=True), summary="The audit trail of a case.")
    def get(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(cases_visible_to(request.user), pk=case_id)
        return Response(CaseEventOut(case.events.select_related("actor"), many=True).data)


class CaseAttempts(APIView):
    @extend_schema(
        responses=ContactAttemptOut(many=True),
        summary="Calls, texts and emails sent about a case, with their status history.",
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(cases_visible_to(request.user), pk=case_id)
        attempts = attempts_visible_to(request.user, case)
        return Response(ContactAttemptOut(attempts, many=True).data)


class CaseTransition(APIView):
    @extend_schema(
        request=inline_serializer(
            "TransitionIn", {"reason": serializers.CharField(required=False)}
        ),
        responses={200: CaseOut, 409: ConflictOut},
        parameters=[
            OpenApiParameter("name", enum=list(TRANSITIONS), location=OpenApiParameter.PATH)
        ],
        summary="Fire a transition; 409 when not possible now, 403 when not yours to fire.",
    )
    def post(self, request: Request, case_id: int, name: str) -> Response:
        get_object_or_404(cases_visible_to(request.user), pk=case_id)
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        if not isinstance(reason, str):
            raise ApiValidationError({"reason": ["Must be text."]})
        try:
            case_transition(case_id=case_id, name=name, by=request.user, reason=reason)
        except UnknownTransition:
            raise NotFound(
                f"No transition is called {name!r}; use one of {', '.join(TRANSITIONS)}."
            ) from None
        except PermissionDenied as error:
            raise ApiPermissionDenied(str(error)) from None
        except ValidationError as error:
            raise ApiValidationError(error.message_dict) from None
        except CaseConflict as error:
            return Response(
                {"error": str(error), "status": error.status, "allowed": error.allowed},
                status=status.HTTP_409_CONFLICT,
            )
        case = cases_visible_to(request.user).get(pk=case_id)
        return Response(CaseOut(case).data)
