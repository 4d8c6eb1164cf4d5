from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Sends each person to where their role works; a user with no role is told so."""
    user = request.user
    if user.has_perm("accounts.view_reports"):
        return redirect("reports:index")
    if user.has_perm("accounts.use_desk"):
        return redirect("cases:queue")
    if user.has_perm("accounts.use_portal"):
        return redirect("portal:portal")
    if user.is_staff:
        return redirect("admin:index")
    return render(request, "accounts/no_role.html", status=403)
