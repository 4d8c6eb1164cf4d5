"""The Twilio stand-in itself: its OpenAPI checks can fail, and its answers are Twilio's shape.

These tests post raw form bodies (``requests``, not the SDK) so they can send what the SDK
never would.
"""

import re
from collections.abc import Iterator

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from notifications.channels import TwilioChannels
from tests.twilio_fake import TwilioFake, openapi, response_problems

TO = "+15551230001"
FROM = "+15005550006"


@pytest.fixture
def fake() -> Iterator[TwilioFake]:
    """A fake whose violations the test inspects itself (no teardown assertion)."""
    with TwilioFake() as started:
        yield started


def calls_path(fake: TwilioFake) -> str:
    return f"/2010-04-01/Accounts/{fake.account_sid}/Calls.json"


def verify_path(fake: TwilioFake, resource: str) -> str:
    return f"/v2/Services/{fake.verify_service_sid}/{resource}"


def post(
    fake: TwilioFake, path: str, data: dict | list, *, auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(
        fake.url + path,
        data=data,
        auth=auth or (fake.account_sid, fake.auth_token),
        timeout=5,
    )


def valid_call() -> dict[str, str | list[str]]:
    return {
        "To": TO,
        "From": FROM,
        "Url": "https://desk.example.com/webhooks/twilio/voice/1",
        "StatusCallback": "https://desk.example.com/webhooks/twilio/status/1",
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "MachineDetection": "DetectMessageEnd",
        "Timeout": "30",
    }


def test_accepts_a_valid_call_and_answers_with_a_queued_call_shaped_like_twilios(fake):
    answer = post(fake, calls_path(fake), valid_call())

    assert answer.status_code == 201
    assert fake.violations == []
    body = answer.json()
    assert re.fullmatch(r"CA[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["to"], body["from"]) == ("queued", TO, FROM)
    assert body["account_sid"] == fake.account_sid
    assert response_problems(openapi().operations["CreateCall"], 201, body) == []
    [request] = fake.requests
    assert request.operation_id == "CreateCall"
    assert request.params["StatusCallbackEvent"] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        pytest.param(
            lambda call: call.pop("To"),
            "CreateCall: parameter 'To': required but missing",
            id="missing-To",
        ),
        pytest.param(
            lambda call: call.update(CallbackUrl="https://desk.example.com/x"),
            "CreateCall: parameter 'CallbackUrl': not in the operation",
            id="unknown-parameter",
        ),
        pytest.param(
            lambda call: call.update(StatusCallbackEvent=["initiated", "busy"]),
            "CreateCall: parameter 'StatusCallbackEvent': 'busy' is not one of",
            id="status-callback-event-outside-the-four",
        ),
        pytest.param(
            lambda call: call.update(StatusCallbackMethod="PUT"),
            "CreateCall: parameter 'StatusCallbackMethod': 'PUT' is not one of ['GET', 'POST']",
            id="oai-enum",
        ),
        pytest.param(
            lambda call: call.update(MachineDetection="true"),
            "CreateCall: parameter 'MachineDetection': 'true' is not one of",
            id="machine-detection",
        ),
        pytest.param(
            lambda call: call.update(Timeout="thirty"),
            "CreateCall: parameter 'Timeout': 'thirty' is not an integer",
            id="integer",
        ),
        pytest.param(
            lambda call: call.update(Record="yes"),
            "CreateCall: parameter 'Record': 'yes' is not a boolean",
            id="boolean",
        ),
        pytest.param(
            lambda call: call.update(StatusCallback="/webhooks/twilio/status/1"),
            "CreateCall: parameter 'StatusCallback': '/webhooks/twilio/status/1' is not an "
            "absolute http(s) URL",
            id="uri",
        ),
        pytest.param(
            lambda call: call.update(To=[TO, "+15551230002"]),
            "CreateCall: parameter 'To': given 2 times, not an array",
            id="repeated-scalar",
        ),
    ],
)
def test_refuses_a_call_that_breaks_the_openapi(fake, change, violation):
    call = valid_call()
    change(call)

    answer = post(fake, calls_path(fake), call)

    assert answer.status_code == 400
    assert len(fake.violations) == 1
    assert fake.violations[0].startswith(violation)
    assert answer.json()["code"] == 21000
    assert answer.json()["message"] == fake.violations[0]
    assert fake.calls == []


def test_refuses_a_path_no_operation_has(fake):
    answer = post(fake, f"/2010-04-01/Accounts/{fake.account_sid}/Call.json", valid_call())

    assert answer.status_code == 404
    assert answer.json()["code"] == 20404
    assert fake.violations == [
        (
            f"POST /2010-04-01/Accounts/{fake.account_sid}/Call.json: "
            "no operation in Twilio's OpenAPI has this path"
        )
    ]


def test_refuses_a_method_the_path_does_not_take(fake):
    answer = requests.put(
        fake.url + verify_path(fake, "Verifications"),
        data={"To": TO, "Channel": "sms"},
        auth=(fake.account_sid, fake.auth_token),
        timeout=5,
    )

    assert answer.status_code == 405
    assert fake.violations == [
        f"PUT {verify_path(fake, 'Verifications')}: the path takes only POST"
    ]


def test_refuses_a_malformed_service_sid_in_the_path(fake):
    answer = post(fake, "/v2/Services/VA123/Verifications", {"To": TO, "Channel": "sms"})

    assert answer.status_code == 400
    assert fake.violations == [
        "CreateVerification: path parameter 'ServiceSid': 'VA123' is shorter than 34 characters",
        (
            "CreateVerification: path parameter 'ServiceSid': 'VA123' does not match "
            "^VA[0-9a-fA-F]{32}$"
        ),
    ]


def test_refuses_a_request_without_the_accounts_basic_auth(fake):
    anonymous = requests.post(fake.url + calls_path(fake), data=valid_call(), timeout=5)
    wrong_token = post(fake, calls_path(fake), valid_call(), auth=(fake.account_sid, "nope"))

    assert (anonymous.status_code, wrong_token.status_code) == (401, 401)
    assert fake.violations == [
        "CreateCall: no HTTP Basic Authorization header (the OpenAPI's accountSid_authToken)",
        "CreateCall: Basic auth carries the wrong auth token",
    ]


def test_refuses_a_verification_without_its_required_channel(fake):
    answer = post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "pigeon"})
    missing = post(fake, verify_path(fake, "Verifications"), {"To": TO})

    assert (answer.status_code, missing.status_code) == (400, 400)
    assert fake.violations == [
        (
            "CreateVerification: parameter 'Channel': 'pigeon' is not one of "
            "['email', 'sms', 'whatsapp', 'call', 'sna', 'auto']"
        ),
        "CreateVerification: parameter 'Channel': required but missing",
    ]
    assert fake.codes == {}


def test_a_code_check_needs_the_number_or_the_verification(fake):
    answer = post(fake, verify_path(fake, "VerificationCheck"), {"Code": "123456"})

    assert answer.status_code == 400
    assert fake.violations == [
        "CreateVerificationCheck: parameters To or VerificationSid: one of them is required"
    ]


def test_verifies_the_code_it_sent_by_number_or_by_verification(fake):
    sent = post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "sms"}).json()
    wrong = post(fake, verify_path(fake, "VerificationCheck"), {"To": TO, "Code": "000000x"})
    right = post(
        fake,
        verify_path(fake, "VerificationCheck"),
        {"VerificationSid": sent["sid"], "Code": fake.last_code(TO)},
    )
    again = post(
        fake,
        verify_path(fake, "VerificationCheck"),
        {"VerificationSid": sent["sid"], "Code": fake.last_code(TO)},
    )

    assert fake.violations == []
    assert (sent["status"], re.fullmatch(r"VE[0-9a-f]{32}", sent["sid"]) is not None) == (
        "pending",
        True,
    )
    assert (wrong.status_code, wrong.json()["status"], wrong.json()["valid"]) == (
        200,
        "pending",
        False,
    )
    assert (right.status_code, right.json()["status"], right.json()["valid"]) == (
        200,
        "approved",
        True,
    )
    # Twilio forgets an approved verification: checking it again finds nothing.
    assert (again.status_code, again.json()["code"]) == (404, 20404)
    operations = openapi().operations
    assert response_problems(operations["CreateVerification"], 201, sent) == []
    assert response_problems(operations["CreateVerificationCheck"], 200, right.json()) == []


def test_resends_the_same_code_while_a_verification_is_pending(fake):
    first = post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "sms"}).json()
    code = fake.last_code(TO)
    second = post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "call"}).json()

    assert second["sid"] == first["sid"]
    assert second["channel"] == "call"
    assert fake.last_code(TO) == code
    assert [attempt["channel"] for attempt in second["send_code_attempts"]] == ["SMS", "CALL"]


def test_a_code_check_without_a_pending_verification_is_not_found(fake):
    answer = post(
        fake,
        verify_path(fake, "VerificationCheck"),
        {"VerificationSid": "VE" + "0" * 32, "Code": "123456"},
    )

    assert answer.status_code == 404
    assert answer.json()["code"] == 20404
    assert fake.violations == []


def test_refuses_the_sixth_check_of_one_verification(fake):
    post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "sms"})
    answers = [
        post(fake, verify_path(fake, "VerificationCheck"), {"To": TO, "Code": "wrong0"})
        for _ in range(6)
    ]

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert answers[-1].json()["code"] == 60202


def test_answers_a_text_with_a_queued_message(fake):
    answer = post(
        fake,
        f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json",
        {"To": TO, "From": FROM, "Body": "Your case needs you", "StatusCallback": "https://x.io/s"},
    )

    body = answer.json()
    assert answer.status_code == 201
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["body"]) == ("queued", "Your case needs you")
    assert response_problems(openapi().operations["CreateMessage"], 201, body) == []
    assert fake.violations == []


def test_fails_only_the_named_operation_as_many_times_as_scripted(fake):
    fake.fail_next(status=503, times=2, operation="CreateCall")

    verification = post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "sms"})
    calls = [post(fake, calls_path(fake), valid_call()) for _ in range(3)]

    assert verification.status_code == 201
    assert [call.status_code for call in calls] == [503, 503, 201]
    assert calls[0].json()["code"] == 20503
    assert len(fake.calls) == 1
    assert fake.violations == []


def test_rejects_a_number_like_twilio_rejects_an_invalid_one(fake):
    fake.reject_number(TO)

    call = post(fake, calls_path(fake), valid_call())
    verification = post(fake, verify_path(fake, "Verifications"), {"To": TO, "Channel": "sms"})

    assert (call.status_code, call.json()["code"]) == (400, 21211)
    assert (verification.status_code, verification.json()["code"]) == (400, 60200)
    assert fake.violations == []


def test_a_delayed_answer_still_places_the_call(fake):
    fake.delay_next(seconds=30, operation="CreateCall")

    with pytest.raises(requests.Timeout):
        requests.post(
            fake.url + calls_path(fake),
            data=valid_call(),
            auth=(fake.account_sid, fake.auth_token),
            timeout=0.3,
        )

    assert len(fake.calls) == 1
    assert fake.requests[0].status == 201


def test_the_checks_apply_to_what_the_sdk_sends(fake, settings):
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_TIMEOUT_SECONDS = 2
    client = TwilioChannels().client

    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(
            to=TO,
            from_=FROM,
            url="https://desk.example.com/webhooks/twilio/voice/1",
            status_callback_event=["initiated", "no-answer"],
        )

    assert refused.value.status == 400
    assert fake.violations == [
        (
            "CreateCall: parameter 'StatusCallbackEvent': 'no-answer' is not one of "
            "['initiated', 'ringing', 'answered', 'completed']"
        )
    ]


def test_scripting_an_operation_the_fake_does_not_serve_is_a_mistake(fake):
    with pytest.raises(ValueError, match="not 'CreateCalls'"):
        fake.fail_next(status=500, operation="CreateCalls")
