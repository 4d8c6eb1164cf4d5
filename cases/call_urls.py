"""``/webhooks/twilio/outreach/``: what Twilio asks during an outreach call (cases.calls)."""

from django.urls import path

from cases import calls

app_name = "outreach"
urlpatterns = [
    path("calls/<int:attempt_id>/twiml/", calls.call_twiml, name="call-twiml"),
    path("calls/<int:attempt_id>/gather/", calls.call_gather, name="call-gather"),
    path("calls/<int:attempt_id>/connected/", calls.call_connected, name="call-connected"),
    path("calls/<int:attempt_id>/dial/", calls.call_dial_result, name="call-dial"),
]
