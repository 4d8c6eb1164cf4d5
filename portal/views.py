"""The seller portal (``/portal/``): account health, programme status, cases, emergency contact.

Screens only: every read is a selector of ``sellers`` or ``cases``, every write a service.

The contact is verified on the same page: the seller asks for a one-time code by text or
call (``contact/code/``) and enters it (``contact/verify/``); the rules and their messages
are ``sellers.services.verification``'s.

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
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from cases.selectors import seller_cases
from notifications.channels import channels
from portal.forms import EmergencyContactForm, VerificationCheckForm, VerificationSendForm
from sellers.charts import ahr_chart
from sellers.models import PhoneVerification, Seller
from sellers.selectors import (
    contact_verify_by,
    portal_sellers,
    seller_for_portal_user,
    seller_health_page,
)
from sellers.services import emergency_contact_set
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
    template_name = "portal/account_health.html"

    def get_seller(self) -> Seller:
        return get_object_or_404(
            portal_sellers(self.request.user), seller_id=self.kwargs["seller_id"]
        )

    def render_page(
        self,
        seller: Seller,
        form: EmergencyContactForm,
        *,
        send_form: VerificationSendForm | None = None,
        check_form: VerificationCheckForm | None = None,
        confirm_phone: object = None,
    ) -> HttpResponse:
        page = seller_health_page(seller, day=timezone.localdate())
        verification = verification_status(seller)
        contact = page["contact"]
        assurance = page["assurance"]
        chart = ahr_chart(
            page["series"],
            start=assurance["window_start"],
            end=assurance["window_end"],
            threshold=page["rules"].threshold,
        )
        context = {
            **page,
            "chart": chart,
            "form": form,
            "send_form": VerificationSendForm() if send_form is None else send_form,
            "check_form": VerificationCheckForm() if check_form is None else check_form,
            "verification": verification,
            # The code box shows while a code can be entered, and to show why one was refused.
            "show_code_form": verification.needed
            and (verification.code_pending or check_form is not None),
            "reach_hours": settings.AHA["REACH_DEADLINE_HOURS"],
            # Enrolled with a number not verified yet: the day the programme ends without it.
            "contact_verify_by": contact_verify_by(seller)
            if assurance["enrolled"] and (contact is None or contact.verified_at is None)
            else None,
            "grace_days": settings.AHA["CONTACT_GRACE_DAYS"],
            "confirm_phone": confirm_phone,
            "confirm_verify_by": contact_verify_by(seller) if confirm_phone else None,
            "cases": seller_cases(seller),
            "own_seller": seller.users.filter(pk=self.request.user.pk).exists(),
            # A login may speak for several sellers; /portal/ opens the first of them.
            "other_sellers": Seller.objects.filter(users=self.request.user)
            .exclude(pk=seller.pk)
            .order_by("pk"),
        }
        return render(self.request, self.template_name, context)


class PostOnlyMixin:
    """A form's address opened by GET (a refreshed or bookmarked error page) goes back to
    the account page instead of a 405."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        self.get_seller()
        return redirect("portal:account_health", seller_id=seller_id)


class AccountHealthView(SellerPortalMixin, View):
    """AHR, chart, violations, programme status and path, and the seller's cases (read-only)."""

    def get(self, request: HttpRequest, seller_id: str) -> HttpResponse:
        return self.render_page(self.get_seller(), EmergencyContactForm())


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
                return redirect("portal:account_health", seller_id=seller.seller_id)
        return self.render_page(seller, form)


def _add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Puts a service's field-named errors on the form; fields it lacks go to the top."""
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


def _verify_block(seller: Seller) -> str:
    return f"{reverse('portal:account_health', args=[seller.seller_id])}#verify-contact"


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
