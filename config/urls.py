from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import home
from config.health import healthz
from config.security import ApiDocsAccess, api_docs_login_required

admin.site.site_header = "AHA Desk administration"
admin.site.site_title = "AHA Desk admin"


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the static icon."""
    return redirect(static("favicon.svg"), permanent=True)


# Under /api/ a URL that matches nothing is a 404 problem (JSON); elsewhere the 404 page.
handler404 = "config.problem_details.page_not_found"

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("desk/", include("cases.urls")),
    path("portal/", include("portal.urls")),
    path("reports/", include("reports.urls")),
    path("webhooks/twilio/", include("notifications.urls")),
    path("webhooks/twilio/outreach/", include("cases.call_urls")),
    path("api/v1/", include("config.api_urls")),
    # Open unless settings.API_DOCS_PUBLIC is off (production): then a sign-in or a token.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[ApiDocsAccess]),
        name="schema",
    ),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline
    # script for the Content-Security-Policy to allow.
    path(
        "api/docs/",
        api_docs_login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema", permission_classes=[ApiDocsAccess]
            )
        ),
        name="api-docs",
    ),
]
