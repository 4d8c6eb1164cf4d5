"""``/api/v1/`` for sellers: the upstream feed (sellers, AHR, violations) and the reads.

Upstream systems hold the ``sellers.push_feed`` permission (``manage.py
issue_api_token NAME``); specialists and managers read every seller; a seller's
logins read only their own seller. Others get 404, never another seller's data.

The seller's notification centre and notification preferences are read by whoever may
see the seller, and changed only by the seller's own logins (403 for anyone else).
Errors are RFC 9457 problems from the one handler (``config.problem_details``).
"""

from django.conf import settings
from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from config.errors import Forbidden, InvalidInput, NotFound
from config.parsers import JSONParser
from config.problem_details import problem_responses
from sellers.filters import SellerFilter, ViolationFilter
from sellers.models import (
    EmergencyContact,
    NotificationPreferences,
    Seller,
    SellerNotification,
    Store,
    Violation,
)
from sellers.selectors import (
    seller_assurance,
    seller_notifications,
    sellers_visible_to,
    unread_notification_count,
    violations_by_severity,
)
from sellers.services import ahr_ingest, seller_upsert, violation_upsert_many
from sellers.services.notices import notification_preferences_set, notifications_mark_read
from sellers.services.violations import FIELDS as VIOLATION_FIELDS
from sellers.validators import seller_id_field, seller_id_problem, upstream_id_field


class PushesFeed(BasePermission):
    """Only upstream systems write the feed."""

    message = "Only upstream systems (API tokens from issue_api_token) may write the feed."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("sellers.push_feed"))


class ReadsOrPushesFeed(PushesFeed):
    """Anyone signed in reads (what they may see); only upstream systems write."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)


def visible_seller(request: Request, seller_id: str) -> Seller:
    """The seller of the URL among those the reader may see, else 404 (never say which)."""
    # Not a seller id at all (a NUL in it was a 500 on PostgreSQL): no such seller either.
    seller = None
    if seller_id_problem(seller_id) is None:
        seller = sellers_visible_to(request.user).filter(seller_id=seller_id).first()
    if seller is None:
        raise NotFound(f"There is no seller {seller_id}, or it is not yours to see.")
    return seller


def feed_items(request: Request, *, limit: int, what: str) -> list:
    """The request's body as a list of at most ``limit`` items, else a 400 problem."""
    items = request.data
    if not isinstance(items, list):
        message = f"The body must be a JSON list of {what}."
        raise InvalidInput({api_settings.NON_FIELD_ERRORS_KEY: [message]}, detail=message)
    if len(items) > limit:
        message = f"At most {limit:,} rows a request; this one has {len(items):,}."
        raise InvalidInput({api_settings.NON_FIELD_ERRORS_KEY: [message]}, detail=message)
    return items


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
        # Read through the relation: a list selects it with the sellers, in one query.
        try:
            contact = seller.emergency_contact
        except EmergencyContact.DoesNotExist:
            return None
        return EmergencyContactOut(contact).data

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
    seller_id = seller_id_field()
    name = serializers.CharField(max_length=200)
    # Text first (CharField refuses a NUL, which was a 500 on PostgreSQL), then the store.
    store = serializers.CharField(
        max_length=Store._meta.get_field("code").max_length,
        help_text=Store._meta.get_field("code").help_text,
    )
    account_type = serializers.ChoiceField(choices=Seller.AccountType.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    emergency_phone = PhoneNumberField(required=False)
    emergency_phone_verified = serializers.BooleanField(required=False, default=False)

    def validate_store(self, value: str) -> Store:
        store = Store.objects.filter(code=value).first()
        if store is None:
            raise serializers.ValidationError(f"There is no store {value}.")
        return store

    def validate(self, attrs: dict) -> dict:
        if attrs.get("emergency_phone_verified") and "emergency_phone" not in attrs:
            raise serializers.ValidationError(
                {"emergency_phone_verified": ["Send emergency_phone with the number you verified."]}
            )
        return attrs


class SellerCollection(ListAPIView):
    permission_classes = [IsAuthenticated, ReadsOrPushesFeed]
    serializer_class = SellerOut
    filter_backends = [DjangoFilterBackend]
    filterset_class = SellerFilter

    def get_queryset(self):
        return sellers_visible_to(self.request.user).select_related(
            "emergency_contact", "assurance"
        )

    @extend_schema(
        responses={200: SellerOut(many=True), **problem_responses(400, 401)},
        summary="The sellers you may see (a seller: their own), by seller_id.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=SellerIn,
        responses={201: SellerOut, 200: SellerOut, **problem_responses(400, 401, 403)},
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
    @extend_schema(responses={200: SellerOut, **problem_responses(401, 404)}, summary="One seller.")
    def get(self, request: Request, seller_id: str) -> Response:
        return Response(SellerOut(visible_seller(request, seller_id)).data)


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
    @extend_schema(
        responses={200: AssuranceOut, **problem_responses(401, 404)},
        summary="Programme status and path to eligibility.",
    )
    def get(self, request: Request, seller_id: str) -> Response:
        seller = visible_seller(request, seller_id)
        return Response(AssuranceOut(seller_assurance(seller)).data)


class AhrFeed(APIView):
    permission_classes = [IsAuthenticated, PushesFeed]
    # JSON only: a form-encoded or multipart body is a 415, not a list of rows.
    parser_classes = [JSONParser]

    @extend_schema(
        request=inline_serializer(
            "AhrRow",
            {
                "seller_id": seller_id_field(),
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
            **problem_responses(400, 401, 403, 413, 415),
        },
        summary="Upsert daily AHR values; bad rows are named and skipped, good rows kept.",
    )
    def post(self, request: Request) -> Response:
        rows = feed_items(
            request,
            limit=settings.AHA["AHR_API_MAX_ROWS"],
            what="rows with seller_id, date and score",
        )
        with transaction.atomic():
            summary = ahr_ingest(rows)
        return Response(summary.as_dict())


class ViolationOut(serializers.ModelSerializer):
    seller_id = serializers.CharField(source="seller.seller_id")

    class Meta:
        model = Violation
        fields = ["id", *VIOLATION_FIELDS]


class ViolationRow(serializers.ModelSerializer):
    """One item of the feed (for the schema; ``violation_upsert_many`` checks each)."""

    seller_id = seller_id_field()
    upstream_id = upstream_id_field()

    class Meta:
        model = Violation
        fields = ViolationOut.Meta.fields[1:]


class ViolationFeed(APIView):
    permission_classes = [IsAuthenticated, PushesFeed]
    parser_classes = [JSONParser]

    @extend_schema(
        request=ViolationRow(many=True),
        responses={
            200: inline_serializer(
                "ViolationResult",
                {
                    "accepted": serializers.IntegerField(),
                    "rejected": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **problem_responses(400, 401, 403, 413, 415),
        },
        summary=(
            "Create or update violations by upstream_id (upstream systems); bad items are "
            "named by index and skipped, good items kept."
        ),
    )
    def post(self, request: Request) -> Response:
        items = feed_items(
            request,
            limit=settings.AHA["VIOLATIONS_API_MAX_ITEMS"],
            what="violations with upstream_id, seller_id, policy_area, severity and opened_on",
        )
        return Response(violation_upsert_many(rows=items).as_dict())


class SellerViolations(ListAPIView):
    """A seller's violations, the one to fix first on top: open before closed, then
    critical to low, then the most AHR points."""

    serializer_class = ViolationOut
    filter_backends = [DjangoFilterBackend]
    filterset_class = ViolationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, making the schema
            return Violation.objects.none()
        seller = visible_seller(self.request, self.kwargs["seller_id"])
        return (
            violations_by_severity(seller)
            .select_related("seller")
            .order_by("status_rank", "severity_rank", "-points", "-opened_on", "-pk")
        )

    @extend_schema(
        responses={200: ViolationOut(many=True), **problem_responses(400, 401, 404)},
        summary="A seller's violations, most severe open first.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


def own_seller(request: Request, seller_id: str) -> Seller:
    """The seller of the URL if the request is one of its own logins: 404 when the reader
    may not see it, 403 when they may see but not change it (the desk, upstream)."""
    seller = visible_seller(request, seller_id)
    if not seller.users.filter(pk=request.user.pk).exists():
        raise Forbidden("Only the seller's own logins may change this.")
    return seller


class NotificationOut(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()
    urgent = serializers.SerializerMethodField()

    class Meta:
        model = SellerNotification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read", "read_at", "urgent"]

    def get_read(self, notice: SellerNotification) -> bool:
        return notice.read_at is not None

    def get_urgent(self, notice: SellerNotification) -> bool:
        return notice.urgent


class SellerNotificationList(ListAPIView):
    """The seller's notification centre, newest first (what the portal's page lists)."""

    serializer_class = NotificationOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, making the schema
            return SellerNotification.objects.none()
        return seller_notifications(visible_seller(self.request, self.kwargs["seller_id"]))

    @extend_schema(
        responses={200: NotificationOut(many=True), **problem_responses(400, 401, 404)},
        summary="A seller's notifications, newest first, with whether each is read.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


MAX_IDS = 1_000
IDS_PROBLEM = (
    f'Send {{"ids": [...]}} with at most {MAX_IDS:,} notification ids (whole numbers), '
    "or no ids to mark every notification read."
)


def _ids_to_mark(data: object) -> list[int] | None:
    """The ids of the body ``{"ids": [...]}``, None for all (no body, or no ids)."""
    if data is None or (isinstance(data, dict) and "ids" not in data):
        return None
    ids = data.get("ids") if isinstance(data, dict) else None
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_IDS
        or not all(
            isinstance(id_, int) and not isinstance(id_, bool) and 0 < id_ < 2**63 for id_ in ids
        )
    ):
        raise InvalidInput({"ids": [IDS_PROBLEM]})
    return ids


class SellerNotificationsRead(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=inline_serializer(
            "NotificationsReadIn",
            {
                "ids": serializers.ListField(
                    child=serializers.IntegerField(min_value=1),
                    required=False,
                    max_length=MAX_IDS,
                    help_text="The notifications to mark read; leave out for all of them.",
                )
            },
        ),
        responses={
            200: inline_serializer(
                "NotificationsReadOut",
                {
                    "marked": serializers.IntegerField(help_text="How many were unread."),
                    "unread": serializers.IntegerField(help_text="How many are unread now."),
                },
            ),
            **problem_responses(400, 401, 403, 404, 415),
        },
        summary="Mark a seller's notifications read (the seller's own logins).",
    )
    def post(self, request: Request, seller_id: str) -> Response:
        seller = own_seller(request, seller_id)
        # Ids of other sellers' notifications are ignored: the service marks only these.
        marked = notifications_mark_read(seller=seller, ids=_ids_to_mark(request.data))
        return Response({"marked": marked, "unread": unread_notification_count(seller)})


def _kind_flags(*, urgent_read_only: bool) -> dict[str, serializers.Field]:
    flags = {}
    for kind in SellerNotification.Kind:
        if kind in SellerNotification.URGENT_KINDS:
            if urgent_read_only:
                flags[kind.value] = serializers.BooleanField(
                    read_only=True, help_text=f"{kind.label}: urgent, always emailed."
                )
        else:
            flags[kind.value] = serializers.BooleanField(
                required=urgent_read_only, help_text=f"{kind.label}: email on?"
            )
    return flags


class NotificationPreferencesOut(serializers.Serializer):
    second_email = serializers.CharField(
        allow_blank=True, help_text="Every email also goes here; empty for none."
    )
    email = inline_serializer("NotificationEmailChoices", _kind_flags(urgent_read_only=True))
    urgent = serializers.ListField(
        child=serializers.CharField(), help_text="The kinds that are always emailed."
    )


def preferences_out(seller: Seller) -> dict:
    preferences = NotificationPreferences.of(seller)
    return {
        "second_email": preferences.second_email,
        "email": {kind.value: preferences.wants_email(kind) for kind in SellerNotification.Kind},
        "urgent": [str(kind) for kind in SellerNotification.URGENT_KINDS],
    }


PREFERENCE_KEYS = ("second_email", "email")


def _preference_changes(data: object) -> tuple[str | None, dict]:
    """``second_email`` and ``email`` of a PATCH body, each checked for its type."""
    if not isinstance(data, dict):
        message = "The body must be a JSON object with second_email and/or email."
        raise InvalidInput({api_settings.NON_FIELD_ERRORS_KEY: [message]}, detail=message)
    errors = {
        str(key): ["Not a preference: send second_email and/or email."]
        for key in data
        if key not in PREFERENCE_KEYS
    }
    second_email = data.get("second_email")
    if second_email is not None and not isinstance(second_email, str):
        errors["second_email"] = ["Must be an email address, or empty for none."]
    email = data.get("email", {})
    if not isinstance(email, dict):
        errors["email"] = ["Must be an object of {kind: true or false}."]
    if errors:
        raise InvalidInput(errors)
    return second_email, email


class SellerNotificationPreferences(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses={200: NotificationPreferencesOut, **problem_responses(401, 404)},
        summary="A seller's email choices per kind of notification, and a second address.",
    )
    def get(self, request: Request, seller_id: str) -> Response:
        seller = visible_seller(request, seller_id)
        return Response(NotificationPreferencesOut(preferences_out(seller)).data)

    @extend_schema(
        request=inline_serializer(
            "NotificationPreferencesIn",
            {
                "second_email": serializers.CharField(
                    required=False,
                    allow_blank=True,
                    max_length=254,
                    help_text="A second address for every email; empty to remove it.",
                ),
                "email": inline_serializer(
                    "NotificationEmailChoicesIn",
                    _kind_flags(urgent_read_only=False),
                    required=False,
                    help_text="Email on or off per kind; urgent kinds cannot be switched off.",
                ),
            },
        ),
        responses={200: NotificationPreferencesOut, **problem_responses(400, 401, 403, 404, 415)},
        summary="Change the email choices (the seller's own logins); urgent kinds are refused.",
    )
    def patch(self, request: Request, seller_id: str) -> Response:
        seller = own_seller(request, seller_id)
        second_email, email = _preference_changes(request.data)
        try:
            notification_preferences_set(seller=seller, second_email=second_email, email=email)
        except InvalidInput as error:
            # A kind is named as the member of ``email`` it was sent in.
            raise InvalidInput(
                {
                    name if name in PREFERENCE_KEYS else f"email.{name}": field_messages
                    for name, field_messages in error.errors.items()
                }
            ) from None
        return Response(NotificationPreferencesOut(preferences_out(seller)).data)
