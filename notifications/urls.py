"""``/webhooks/twilio/``: status callbacks of every call and text, whatever it was for."""

from django.urls import path

from notifications import webhooks

app_name = "notifications"
urlpatterns = [
    path("calls/<int:attempt_id>/status/", webhooks.call_status, name="call-status"),
    path("messages/<int:attempt_id>/status/", webhooks.sms_status, name="sms-status"),
]
