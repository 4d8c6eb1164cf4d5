"""``/api/v1/`` for sellers: the upstream feed (sellers, AHR) and the assurance status.

Upstream systems hold the ``sellers.push_feed`` permission (``manage.py
issue_api_token NAME``); specialists and managers read every seller; a seller's
logins read only their own seller. Others get 404, never another seller's data.
"""

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sellers.models import EmergencyContact, Seller, Store
from sellers.selectors import seller_assurance, sellers_visible_to
from sellers.services import ahr_ingest, seller_upsert


class PushesFeed(BasePermission):
    """Only upstream systems write the feed."""

    message = "Only upstream systems (API tokens from issue_api_token) may write the feed."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("sellers.push_feed"))


class EmergencyContactOut(serializers.ModelSerializer):
    verified = serializers.SerializerMethodField()

    class Meta:
        model = EmergencyContact
        fields = [
            "phone",
            "verified",
            "verified_at",
            "verified_by",
            "can_receive_calls",
            "can_receive_sms",
        ]

    def get_verified(self, contact: EmergencyContact) -> bool:
        return contact.verified_at is not None


class SellerOut(serializers.ModelSerializer):
    store = serializers.CharField(source="store.code")
    emergency_contact = serializers.SerializerMethodField()
    enrolled = serializers.SerializerMethodField()
    enrolled_since = serializers.SerializerMethodField()

    class Meta:
        model = Seller
        fields = [
            "seller_id",
            "name",
            "store",
            "account_type",
            "email",
            "emergency_contact",
            "enrolled",
            "enrolled_since",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(EmergencyContactOut(allow_null=True))
    def get_emergency_contact(self, seller: Seller) -> dict | None:
        contact = EmergencyContact.objects.filter(seller=seller).first()
        return EmergencyContactOut(contact).data if contact else None

    def _state(self, seller: Seller):
        # A seller never evaluated has no state row yet.
        return getattr(seller, "assurance", None)

    def get_enrolled(self, seller: Seller) -> bool:
        state = self._state(seller)
        return bool(state and state.enrolled)

    def get_enrolled_since(self, seller: Seller) -> str | None:
        state = self._state(seller)
        return state.enrolled_since.isoformat() if state and state.enrolled_since else None


class SellerIn(serializers.Serializer):
    seller_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    store = serializers.SlugRelatedField(slug_field="code", queryset=Store.objects.all())
    account_type = serializers.ChoiceField(choices=Seller.AccountType.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    emergency_phone = PhoneNumberField(required=False)
    emergency_phone_verified = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("emergency_phone_verified") and "emergency_phone" not in attrs:
            raise serializers.ValidationError(
                {"emergency_phone_verified": ["Send emergency_phone with the number you verified."]}
            )
        return attrs


class SellerCollection(APIView):
    permission_classes = [IsAuthenticated, PushesFeed]

    @extend_schema(
        request=SellerIn,
        responses={201: SellerOut, 200: SellerOut},
        summary="Create or update a seller by seller_id (upstream systems).",
    )
    def post(self, request: Request) -> Response:
        incoming = SellerIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        seller, created = seller_upsert(
            seller_id=data["seller_id"],
            name=data["name"],
            store_code=data["store"].code,
            account_type=data["account_type"],
            email=data.get("email", ""),
            emergency_phone=str(data["emergency_phone"]) if "emergency_phone" in data else None,
            emergency_phone_verified=data["emergency_phone_verified"],
        )
        seller.refresh_from_db()
        return Response(
            SellerOut(seller).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SellerDetail(APIView):
    @extend_schema(responses=SellerOut, summary="One seller.")
    def get(self, request: Request, seller_id: str) -> Response:
        seller = get_object_or_404(sellers_visible_to(request.user), seller_id=seller_id)
        return Response(SellerOut(seller).data)


class AssuranceOut(serializers.Serializer):
    eligible = serializers.BooleanField()
    enrolled = serializers.BooleanField()
    enrolled_since = serializers.DateField(allow_null=True)
    ahr = serializers.IntegerField(allow_null=True)
    band = serializers.ChoiceField(choices=["healthy", "at_risk", "unhealthy"], allow_null=True)
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    days_below_threshold = serializers.IntegerField()
    days_below_allowed = serializers.IntegerField()
    history_days_needed = serializers.IntegerField()
    earliest_enrollment_date = serializers.DateField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class SellerAssurance(APIView):
    @extend_schema(responses=AssuranceOut, summary="Programme status and path to eligibility.")
    def get(self, request: Request, seller_id: str) -> Response:
        seller = get_object_or_404(sellers_visible_to(request.user), seller_id=seller_id)
        return Response(AssuranceOut(seller_assurance(seller)).data)


class AhrFeed(APIView):
    permission_classes = [IsAuthenticated, PushesFeed]

    @extend_schema(
        request=inline_serializer(
            "AhrRow",
            {
                "seller_id": serializers.CharField(),
                "date": serializers.DateField(),
                "score": serializers.IntegerField(min_value=0, max_value=1000),
            },
            many=True,
        ),
        responses={
            200: inline_serializer(
                "AhrResult",
                {
                    "accepted": serializers.IntegerField(),
                    "rejected": serializers.ListField(child=serializers.DictField()),
                },
            ),
            400: OpenApiResponse(description="The body is not a JSON list, or is too long."),
        },
        summary="Upsert daily AHR values; bad rows are named and skipped, good rows kept.",
    )
    def post(self, request: Request) -> Response:
        rows = request.data
        limit = settings.AHA["AHR_API_MAX_ROWS"]
        if not isinstance(rows, list):
            return Response(
                {"error": "The body must be a JSON list of rows with seller_id, date and score."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if len(rows) > limit:
            return Response(
                {"error": f"At most {limit:,} rows a request; this one has {len(rows):,}."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        with transaction.atomic():
            summary = ahr_ingest(rows)
        return Response(summary.as_dict())
