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
    path(
        "sellers/<str:seller_id>/preferences/",
        views.PreferencesView.as_view(),
        name="preferences",
    ),
    path(
        "sellers/<str:seller_id>/notifications/",
        views.NotificationsView.as_view(),
        name="notifications",
    ),
    path(
        "sellers/<str:seller_id>/notifications/read/",
        views.NotificationsReadView.as_view(),
        name="notifications_read",
    ),
    path(
        "sellers/<str:seller_id>/notifications/unread/",
        views.UnreadCountView.as_view(),
        name="notifications_unread",
    ),
    path(
        "sellers/<str:seller_id>/notifications/<int:notice_id>/",
        views.NotificationOpenView.as_view(),
        name="notification_open",
    ),
]
