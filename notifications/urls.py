from django.urls import path

from notifications import webhooks

app_name = "notifications"
urlpatterns = [
    path("calls/<int:attempt_id>/twiml/", webhooks.call_twiml, name="call-twiml"),
    path("calls/<int:attempt_id>/gather/", webhooks.call_gather, name="call-gather"),
    path("calls/<int:attempt_id>/connected/", webhooks.call_connected, name="call-connected"),
    path("calls/<int:attempt_id>/dial/", webhooks.call_dial_result, name="call-dial"),
    path("calls/<int:attempt_id>/status/", webhooks.call_status, name="call-status"),
    path("messages/<int:attempt_id>/status/", webhooks.sms_status, name="sms-status"),
]
