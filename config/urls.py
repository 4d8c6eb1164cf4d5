from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import home
from config.health import healthz

admin.site.site_header = "AHA Desk administration"
admin.site.site_title = "AHA Desk admin"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("desk/", include("cases.urls")),
    path("portal/", include("portal.urls")),
    path("reports/", include("reports.urls")),
    path("webhooks/twilio/", include("notifications.urls")),
    path("webhooks/twilio/outreach/", include("cases.call_urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
