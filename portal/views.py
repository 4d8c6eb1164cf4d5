"""The seller portal (``/portal/``): account health, programme status, cases, the
notification centre, and the notification preferences with the emergency contact.

Screens only: every read is a selector of ``sellers`` or ``cases``, every write a service.

The emergency contact lives on the preferences page (``preferences/``), where it is also
verified: the seller asks for a one-time code by text or call (``contact/code/``) and
enters it (``contact/verify/``); the rules and their messages are
``sellers.services.verification``'s. The account-health page shows a summary of it.

The notification centre (``notifications/``) lists the seller's notifications newest
first; opening one (``notifications/<id>/``) marks it read and follows its link, which
must be a path on this site. The bell in the header is ``portal.context_processors``'.

Only logins with ``accounts.use_portal`` get in (anonymous visitors are sent to sign
in, other roles get the 403 page). A seller login sees only the sellers linked to it:
any other seller's address answers 404, so a seller id cannot even be probed. A
superuser may open any seller's page to see what the seller sees (support).
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from cases.selectors import seller_cases
from config.errors import InvalidInput
from notifications.channels import channels
from portal.forms import (
    EmergencyContactForm,
    NotificationPreferencesForm,
    VerificationCheckForm,
    VerificationSendForm,
)
from sellers.charts import ahr_chart
from sellers.models import (
    AssuranceState,
    EmergencyContact,
    NotificationPreferences,
    PhoneVerification,
    Seller,
    SellerNotification,
)
from sellers.selectors import (
    contact_verify_by,
    portal_sellers,
    seller_for_portal_user,
    seller_health_page,
    seller_notifications,
    unread_notification_count,
)
from sellers.services import emergency_contact_set
from sellers.services.notices import notification_preferences_set, notifications_mark_read
from sellers.services.verification import (
    Limits,
    masked_for_seller,
    verification_check,
    verification_send,
    verification_status,
)


class PortalView(PermissionRequiredMixin, TemplateView):
    """Sends a seller to their own page; explains when no seller is linked to the login.

    A superuser with no seller of their own gets a box to open any seller's page by id.
    """

    permission_required = "accounts.use_portal"
    template_name = "portal/portal.html"

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wanted = request.GET.get("seller_id", "").strip()
        if wanted and request.user.is_superuser:
            return redirect("portal:account_health", seller_id=wanted)
        seller = seller_for_portal_user(request.user)
        if seller is not None:
            return redirect("portal:account_health", seller_id=seller.seller_id)
        return super().get(request, *args, **kwargs)


class SellerPortalMixin(PermissionRequiredMixin):
    """Finds the seller of the URL among those the login may open, else 404."""

    permission_required = "accounts.use_portal"
    # The contact's forms answer with the preferences page (errors, confirmation).
    template_name = "portal/preferences.html"

    def get_seller(self) -> Seller:
        seller = get_object_or_404(
            portal_sellers(self.request.user), seller_id=self.kwargs["seller_id"]
        )
        # The bell in the header counts for the seller being viewed.
        self.request.portal_seller = seller
        return seller

    def portal_context(self, seller: Seller) -> dict:
        """What every page of one seller shows: who, and the login's other sellers."""
        return {
            "seller": seller,
            "own_seller": seller.users.filter(pk=self.request.user.pk).exists(),
            # A login may speak for several sellers; /portal/ opens the first of them.
            "other_sellers": Seller.objects.filter(users=self.request.user)
            .exclude(pk=seller.pk)
            .order_by("pk"),
            "portal_page": self.request.resolver_match.url_name
            if self.request.resolver_match.url_name
            in ("account_health", "notifications", "preferences")
            else "preferences",
        }

    def contact_context(self, seller: Seller) -> dict:
        """The emergency contact and whether an enrolled seller must still verify it."""
        contact = EmergencyContact.objects.filter(seller=seller).first()
        state = AssuranceState.objects.filter(seller=seller).first()
        enrolled = bool(state and state.enrolled)
        return {
            "contact": contact,
            "enrolled": enrolled,
            "reach_hours": settings.AHA["REACH_DEADLINE_HOURS"],
            "recovery_days": settings.AHA["HEALTH_RECOVERY_DAYS"],
            # Enrolled with a number not verified yet: the day the programme ends without it.
            "contact_verify_by": contact_verify_by(seller)
            if enrolled and (contact is None or contact.verified_at is None)
            else None,
        }

    def render_page(
        self,
        seller: Seller,
        form: EmergencyContactForm,
        *,
        send_form: VerificationSendForm | None = None,
        check_form: VerificationCheckForm | None = None,
        confirm_phone: object = None,
        preferences_form: NotificationPreferencesForm | None = None,
    ) -> HttpResponse:
        """The preferences page: emergency contact, its verification, the email choices."""
        verification = verification_status(seller)
        preferences = NotificationPreferences.of(seller)
        if preferences_form is None:
            preferences_form = NotificationPreferencesForm(
                initial=NotificationPreferencesForm.initial_for(preferences)
            )
        context = {
            **self.portal_context(seller),
            **self.contact_context(seller),
            "form": form,
            "send_form": VerificationSendForm() if send_form is None else send_form,
            "check_form": VerificationCheckForm() if check_form is None else check_form,
            "verification": verification,
            # The code box shows while a code can be entered, and to show why one was refused.
            "show_code_form": verification.needed
            and (verification.code_pending or check_form is not None),
            "grace_days": settings.AHA["CONTACT_GRACE_DAYS"],
            "confirm_phone": confirm_phone,
            "confirm_verify_by": contact_verify_by(seller) if confirm_phone else None,
            "preferences_form": preferences_form,
            "urgent_kinds": [
                SellerNotification.Kind(kind).label for kind in SellerNotification.URGENT_KINDS
            ],
        }
        return render(self.request, "portal/preferences.html", context)


class PostOnlyMixin:
    """A form's address opened by GET (a refreshed or bookmarked error page) goes back to
    the page of the form instead of a 405."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        self.get_seller()
        return redirect("portal:preferences", seller_id=seller_id)


class AccountHealthView(SellerPortalMixin, View):
    """AHR, chart, violations, programme status and path, and the seller's cases
    (read-only), with a summary of the emergency contact."""

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        page = seller_health_page(seller, day=timezone.localdate())
        assurance = page["assurance"]
        chart = ahr_chart(
            page["series"],
            start=assurance["window_start"],
            end=assurance["window_end"],
            threshold=page["rules"].threshold,
        )
        context = {
            **page,
            **self.portal_context(seller),
            **self.contact_context(seller),
            "chart": chart,
            "cases": seller_cases(seller),
        }
        return render(request, "portal/account_health.html", context)


class EmergencyContactView(PostOnlyMixin, SellerPortalMixin, View):
    """Changes the emergency contact; a new number must be verified again (the service)."""

    def post(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        form = EmergencyContactForm(request.POST)
        if form.is_valid():
            previous = getattr(seller, "emergency_contact", None)
            previous_phone = str(previous.phone) if previous is not None else None
            phone = form.cleaned_data["phone"].as_e164
            replaces_verified = (
                previous is not None and previous.verified_at and phone != previous_phone
            )
            if replaces_verified and request.POST.get("confirm") != "1":
                # Say what happens, and by when, before a verified number is given up.
                return self.render_page(
                    seller, EmergencyContactForm(), confirm_phone=form.cleaned_data["phone"]
                )
            try:
                contact = emergency_contact_set(seller=seller, phone=phone, user=request.user)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("phone", message)
            else:
                if phone == previous_phone:
                    messages.info(
                        request,
                        f"{contact.phone.as_international} is already your emergency contact "
                        "number; nothing changed.",
                    )
                else:
                    messages.success(
                        request,
                        f"Your emergency contact number is now {contact.phone.as_international}. "
                        "It must be verified before it counts for Account Health Assurance.",
                    )
                return redirect("portal:preferences", seller_id=seller.seller_id)
        return self.render_page(seller, form)


def _add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Puts a service's field-named errors on the form; fields it lacks go to the top."""
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


def _verify_block(seller: Seller) -> str:
    return f"{reverse('portal:preferences', args=[seller.seller_id])}#verify-contact"


class VerificationCodeSendView(PostOnlyMixin, SellerPortalMixin, View):
    """Sends a one-time code to the emergency contact number by SMS or voice call."""

    def post(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        form = VerificationSendForm(request.POST)
        if form.is_valid():
            try:
                verification = verification_send(
                    seller=seller,
                    by=request.user,
                    channel=form.cleaned_data["channel"],
                    codes=channels(),
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                minutes = Limits.current().code_valid_for // dt.timedelta(minutes=1)
                if verification.channel == PhoneVerification.Channel.SMS:
                    sent = f"We have texted a code to {masked_for_seller(verification.phone)}."
                else:
                    number = masked_for_seller(verification.phone)
                    sent = f"We are calling {number} to read you a code."
                messages.success(request, f"{sent} Enter it below within {minutes} minutes.")
                return redirect(_verify_block(seller))
        return self.render_page(seller, EmergencyContactForm(), send_form=form)


class VerificationCodeCheckView(PostOnlyMixin, SellerPortalMixin, View):
    """Checks the code the seller entered; a right one verifies the number."""

    def post(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        form = VerificationCheckForm(request.POST)
        if form.is_valid():
            try:
                contact = verification_check(
                    seller=seller, by=request.user, code=form.cleaned_data["code"], codes=channels()
                )
            except ValidationError as error:
                _add_service_errors(form, error)
                # A refused code is typed again from scratch, not edited.
                form.data = form.data.copy()
                form.data["code"] = ""
            else:
                messages.success(
                    request,
                    f"Your emergency contact number {contact.phone.as_international} is "
                    "verified. It now counts for Account Health Assurance.",
                )
                return redirect(_verify_block(seller))
        return self.render_page(seller, EmergencyContactForm(), check_form=form)


class PreferencesView(SellerPortalMixin, View):
    """Notification preferences: the emergency contact, and per kind email on or off."""

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        return self.render_page(self.get_seller(), EmergencyContactForm())

    def post(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        form = NotificationPreferencesForm(request.POST)
        if form.is_valid():
            try:
                notification_preferences_set(
                    seller=seller,
                    second_email=form.cleaned_data["second_email"],
                    email=form.email_choices(),
                )
            except InvalidInput as error:
                for name, field_messages in error.errors.items():
                    form.add_error(form.field_for(name), field_messages)
            else:
                messages.success(request, _("Your notification preferences are saved."))
                return redirect(
                    f"{reverse('portal:preferences', args=[seller.seller_id])}#email-preferences"
                )
        return self.render_page(seller, EmergencyContactForm(), preferences_form=form)


NOTIFICATIONS_PER_PAGE = 50


def safe_link(request: HttpRequest, link: str) -> str | None:
    """The notification's link if it is a path on this site, else None (no open redirect)."""
    if (
        link.startswith("/")
        and not link.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return link
    return None


class NotificationsView(SellerPortalMixin, View):
    """The seller's notifications, newest first, 50 a page; those shown are marked read
    (marked "New" on the page this once)."""

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        page = Paginator(seller_notifications(seller), NOTIFICATIONS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        notifications = list(page.object_list)
        context = {
            **self.portal_context(seller),
            "page_obj": page,
            "notifications": notifications,
            "unread_count": unread_notification_count(seller),
        }
        # Seen is read: the page shows them "New" this once. Support staff looking at the
        # seller's page read nothing for the seller.
        if context.get("own_seller"):
            unread = [notice.pk for notice in notifications if notice.read_at is None]
            if unread:
                notifications_mark_read(seller=seller, ids=unread)
        return render(request, "portal/notifications.html", context)


class NotificationOpenView(SellerPortalMixin, View):
    """Opening a notification marks it read and follows its link (a local path only)."""

    def get(self, request: HttpRequest, seller_id: str, notice_id: int) -> HttpResponse:
        seller = self.get_seller()
        # Only this seller's notifications: another's id is not found, like another seller.
        notice = get_object_or_404(SellerNotification, seller=seller, pk=notice_id)
        notifications_mark_read(seller=seller, ids=[notice.pk])
        link = safe_link(request, notice.link)
        if link is None:
            return redirect("portal:notifications", seller_id=seller.seller_id)
        return redirect(link)


class NotificationsReadView(SellerPortalMixin, View):
    """ "Mark all read": every unread notification of the seller."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        self.get_seller()
        return redirect("portal:notifications", seller_id=seller_id)

    def post(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        seller = self.get_seller()
        marked = notifications_mark_read(seller=seller)
        if marked:
            messages.success(request, _("All your notifications are marked read."))
        return redirect("portal:notifications", seller_id=seller.seller_id)


class UnreadCountView(SellerPortalMixin, View):
    """The bell's number as JSON, for the page to refresh it without a reload."""

    def get(self, request: HttpRequest, seller_id: str) -> JsonResponse:
        seller = self.get_seller()
        response = JsonResponse({"unread": unread_notification_count(seller)})
        response["Cache-Control"] = "no-store"
        return response
