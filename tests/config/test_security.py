"""Headers on every page, the API's throttles, who may read the API schema (config.security)."""

import datetime as dt
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.template import loader
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role
from cases.models import Case
from config.settings import base as base_settings
from tests.builders import open_assured_case
from tests.config.test_settings_startup import GOOD_PRODUCTION_ENV, manage
from tests.factories import PASSWORD, AdminFactory, SpecialistFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAL_PREFIXES = ("/portal/", "/desk/", "/admin/", "/reports/", "/accounts/")


@pytest.fixture
def pages(client):
    """Every kind of page, as the person it is for sees it: (URL, signed-in user or None)."""
    case = open_assured_case()
    seller = case.seller
    seller_login = UserFactory(role=Role.SELLER)
    seller.users.add(seller_login)
    specialist = SpecialistFactory().user
    manager = UserFactory(role=Role.MANAGER)
    admin = AdminFactory()
    return [
        ("/accounts/login/", None),
        ("/desk/", specialist),
        (f"/desk/cases/{case.pk}/", specialist),
        ("/desk/cases/new/", specialist),
        (f"/portal/sellers/{seller.seller_id}/", seller_login),
        ("/reports/", manager),
        ("/admin/", admin),
        (f"/admin/cases/case/{case.pk}/change/", admin),
        ("/admin/login/", None),
        ("/api/docs/", None),
        ("/nowhere/", None),
    ]


def get_as(client, url, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


# --- Content-Security-Policy ----------------------------------------------------------


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_every_page_has_a_policy_without_unsafe_inline(client, pages):
    for url, user in pages:
        response = get_as(client, url, user)
        assert response.status_code in {200, 404}, url
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert "unsafe-inline" not in response["Content-Security-Policy"], url
        assert "unsafe-eval" not in response["Content-Security-Policy"], url


class InlineCode(HTMLParser):
    """What a page carries that a policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self._in_script = True
        if tag == "style":
            self.found.append("<style> block")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'style="{value}" on <{tag}>')
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_no_page_carries_inline_script_or_style(client, pages):
    for url, user in pages:
        response = get_as(client, url, user)
        assert inline_code(response.content.decode()) == [], url
    assert inline_code(loader.render_to_string("500.html")) == []


def test_the_countdown_runs_from_a_static_file(client, pages):
    url, user = pages[2]  # the case page: its deadline counts down
    html = get_as(client, url, user).content.decode()
    assert "data-deadline" in html
    assert '<script src="/static/js/countdown.js"' in html
    assert finders.find("js/countdown.js")


def test_swagger_ui_loads_its_start_up_script_as_a_file(client):
    html = client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="></script>' in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert "/api/schema/" in script.content.decode()


# --- Permissions-Policy and Cache-Control ---------------------------------------------


def test_every_response_switches_off_camera_microphone_and_location(client, pages):
    for url, user in [*pages, ("/healthz", None), ("/api/schema/", None)]:
        header = get_as(client, url, user)["Permissions-Policy"]
        features = dict(item.strip().split("=", 1) for item in header.split(","))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[feature] == "()", (url, feature)


def test_pages_with_personal_data_are_never_stored(client, pages, upstream_api):
    for url, user in pages:
        response = get_as(client, url, user)
        cache_control = response.get("Cache-Control", "")
        if url.startswith(PERSONAL_PREFIXES):
            assert "no-store" in cache_control, url
            assert "private" in cache_control, url
    assert "no-store" in upstream_api.get("/api/v1/sellers/")["Cache-Control"]


def test_pages_without_personal_data_may_be_stored(client):
    assert "no-store" not in client.get("/api/docs/").get("Cache-Control", "")


# --- Who may read the API schema and docs ----------------------------------------------


def test_schema_and_docs_are_open_when_public(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_schema_and_docs_need_a_sign_in_when_not_public(client, settings, upstream_api):
    settings.API_DOCS_PUBLIC = False
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code in {401, 403}
    assert schema["Content-Type"] == "application/problem+json"
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"] == "/accounts/login/?next=/api/docs/"
    assert client.get("/api/docs/?script=").status_code == 302
    # A token reads the schema; a signed-in person reads both.
    assert upstream_api.get("/api/schema/").status_code == 200
    client.force_login(SpecialistFactory().user)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/docs/?script=").status_code == 200


def printed_settings(expressions: list[str], env: dict[str, str], settings: str) -> list[str]:
    """The ``repr`` of each ``settings.<expression>`` in a fresh process with ``settings``."""
    prints = "; ".join(f"print(repr(settings.{expression}))" for expression in expressions)
    result = manage(
        ["shell", "-c", f"from django.conf import settings; {prints}"], env, settings=settings
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-len(expressions) :]


def test_production_keeps_the_schema_behind_a_sign_in_and_counts_in_redis():
    docs_public, cache_backend, num_proxies = printed_settings(
        ["API_DOCS_PUBLIC", "CACHES['default']['BACKEND']", "REST_FRAMEWORK['NUM_PROXIES']"],
        GOOD_PRODUCTION_ENV,
        "config.settings.production",
    )
    assert docs_public == "False"
    # Throttle counts shared by every web process, behind one proxy by default.
    assert cache_backend == "'django.core.cache.backends.redis.RedisCache'"
    assert num_proxies == "1"
    local = printed_settings(
        ["API_DOCS_PUBLIC"], {"DATABASE_URL": "sqlite:///:memory:"}, "config.settings.local"
    )
    assert local == ["True"]


# --- API throttles ------------------------------------------------------------------------


@pytest.fixture
def throttles(settings):
    """The throttles with the rates of config/settings/base.py (the test settings turn them
    off); ``throttles(user="3/min")`` changes some. Counts start from nothing."""

    def use(**rates: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **base_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }

    cache.clear()
    use()
    yield use
    cache.clear()


def assert_throttled(response, *, wait_at_most: int) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/throttled")
    assert 0 < int(response["Retry-After"]) <= wait_at_most
    assert body["retry_after"] == int(response["Retry-After"])


def test_the_agreed_rates():
    rates = base_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates == {"user": "10000/hour", "anon": "60/min", "failed_token": "20/min"}
    assert base_settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


def test_a_user_over_the_rate_gets_429_with_retry_after(throttles, specialist_api, manager_api):
    throttles(user="3/min")
    for _ in range(3):
        assert specialist_api.get("/api/v1/cases/").status_code == 200
    assert_throttled(specialist_api.get("/api/v1/cases/"), wait_at_most=60)
    # Counted per user: another user is not held back.
    assert manager_api.get("/api/v1/cases/").status_code == 200


def test_anonymous_requests_are_throttled_per_address(throttles, client):
    throttles(anon="5/min")
    for _ in range(5):
        assert client.get("/api/schema/").status_code == 200
    assert_throttled(client.get("/api/schema/", HTTP_ACCEPT="application/json"), wait_at_most=60)
    assert client.get("/api/schema/", REMOTE_ADDR="198.51.100.2").status_code == 200


def test_repeated_wrong_tokens_from_one_address_are_throttled(throttles, upstream_api):
    guesser = APIClient()
    for n in range(20):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token wrong-{n:036d}")
        assert guesser.get("/api/v1/sellers/").status_code == 401
    guesser.credentials(HTTP_AUTHORIZATION="Token wrong-again")
    assert_throttled(guesser.get("/api/v1/sellers/"), wait_at_most=60)
    # While the address is blocked even a good token from it is refused, so guessing
    # cannot go on; from another address the good token works.
    assert_throttled(upstream_api.get("/api/v1/sellers/"), wait_at_most=60)
    assert upstream_api.get("/api/v1/sellers/", REMOTE_ADDR="198.51.100.2").status_code == 200


def test_the_wrong_token_block_ends_after_the_minute(throttles, upstream_api):
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token wrong")
    with time_machine.travel(dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(20):
            guesser.get("/api/v1/sellers/")
        assert upstream_api.get("/api/v1/sellers/").status_code == 429
        clock.shift(dt.timedelta(seconds=61))
        assert upstream_api.get("/api/v1/sellers/").status_code == 200


def test_good_tokens_and_requests_without_one_are_not_counted_as_failures(
    throttles, upstream_api, client
):
    throttles(user="1000/min", anon="1000/min")
    for _ in range(25):
        assert upstream_api.get("/api/v1/sellers/").status_code == 200
        assert client.get("/api/v1/sellers/").status_code in {401, 403}
    assert upstream_api.get("/api/v1/sellers/").status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_count(throttles):
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token wrong")
    for n in range(20):
        guesser.get("/api/v1/sellers/", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert guesser.get("/api/v1/sellers/", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_a_proxy_the_address_it_forwards_is_counted(throttles, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token wrong")
    for _ in range(20):
        guesser.get("/api/v1/sellers/", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert guesser.get("/api/v1/sellers/", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert guesser.get("/api/v1/sellers/", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 401


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing listens
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_without_the_cache_the_api_answers_unthrottled(throttles, upstream_api):
    throttles(user="1/min", failed_token="1/min")
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token wrong")
    with override_settings(CACHES=UNREACHABLE_REDIS):
        assert upstream_api.get("/api/v1/sellers/").status_code == 200
        assert upstream_api.get("/api/v1/sellers/").status_code == 200
        assert guesser.get("/api/v1/sellers/").status_code == 401
        assert guesser.get("/api/v1/sellers/").status_code == 401


# --- In a browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_work_in_a_browser_under_the_policy(browser_page):
    """Chromium enforces the policy: nothing is refused, Swagger UI and the countdown run."""
    page = browser_page
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    case = open_assured_case()
    # Under a day left: the countdown shows seconds, so it visibly ticks.
    Case.objects.filter(pk=case.pk).update(reach_deadline=timezone.now() + dt.timedelta(hours=20))
    specialist = SpecialistFactory(user__username="sam").user
    page.goto("/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 5
    page.goto("/accounts/login/")
    page.fill("#id_username", specialist.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/desk/cases/{case.pk}/")
    countdown = page.locator("time.countdown")
    first_reading = countdown.inner_text()
    page.wait_for_function(
        "([clock, before]) => clock.textContent !== before",
        arg=[countdown.element_handle(), first_reading],
        timeout=5_000,
    )
    page.goto("/desk/")
    assert refused == []
