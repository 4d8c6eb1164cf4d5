from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.PortalView.as_view(), name="portal"),
    path("sellers/<str:seller_id>/", views.AccountHealthView.as_view(), name="account_health"),
    path("sellers/<str:seller_id>/contact/", views.EmergencyContactView.as_view(), name="contact"),
    path(
        "sellers/<str:seller_id>/contact/code/",
        views.VerificationCodeSendView.as_view(),
        name="contact_code",
    ),
    path(
        "sellers/<str:seller_id>/contact/verify/",
        views.VerificationCodeCheckView.as_view(),
        name="contact_verify",
    ),
]
