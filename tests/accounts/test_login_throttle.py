"""Sign-in lock-out (django-axes): 5 wrong passwords for a username from one address lock
that username at that address for 15 minutes, on our login page and the admin's alike.

The tests post to the real login pages: axes sees the request there, as in production.
"""

import datetime as dt
import logging

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone

from accounts.roles import Role
from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_PAGES = {"site": "/accounts/login/", "admin": "/admin/login/"}
WRONG = "not-the-password-1234"
LOCK_MESSAGE = "Signing in is locked for 15 minutes"


@pytest.fixture(params=sorted(LOGIN_PAGES))
def login_page(request):
    """(login URL, a user who may sign in there): seller.sol on ours, admin on the admin's."""
    if request.param == "admin":
        return LOGIN_PAGES["admin"], AdminFactory(username="admin")
    return LOGIN_PAGES["site"], UserFactory(username="seller.sol", role=Role.SELLER)


def sign_in(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, url, username, times, **extra):
    for n in range(1, times + 1):
        response = sign_in(client, url, username, WRONG, **extra)
        # The form again, "Please enter a correct ...", until the fifth.
        assert response.status_code == (200 if n < 5 else 429)
    return response


def test_right_password_after_four_failures_still_signs_in(client, login_page):
    url, user = login_page
    fail(client, url, user.username, 4)
    response = sign_in(client, url, user.username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_fifth_failure_locks_the_username_with_a_clear_message(client, login_page):
    url, user = login_page
    fail(client, url, user.username, 4)
    response = sign_in(client, url, user.username, WRONG)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    page = response.content.decode()
    assert LOCK_MESSAGE in page
    # The login page itself, with its form, not a bare error.
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert "Please enter a correct" not in page


def test_right_password_during_the_lock_is_refused(client, login_page):
    url, user = login_page
    fail(client, url, user.username, 5)
    response = sign_in(client, url, user.username, PASSWORD)
    assert response.status_code == 429
    assert LOCK_MESSAGE in response.content.decode()
    assert not signed_in(client)


def test_lock_ends_fifteen_minutes_after_the_last_try(client, login_page):
    url, user = login_page
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        fail(client, url, user.username, 5)
        clock.shift(dt.timedelta(minutes=14))
        assert sign_in(client, url, user.username, PASSWORD).status_code == 429
        # That try started the 15 minutes again.
        clock.shift(dt.timedelta(minutes=14))
        assert sign_in(client, url, user.username, PASSWORD).status_code == 429
        clock.shift(dt.timedelta(minutes=15, seconds=1))
        response = sign_in(client, url, user.username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_lock_holds_one_username_at_one_address(client):
    UserFactory(username="seller.sol", role=Role.SELLER)
    UserFactory(username="seller.max", role=Role.SELLER)
    url = LOGIN_PAGES["site"]
    fail(client, url, "seller.sol", 5, REMOTE_ADDR="203.0.113.7")
    # Another username from the same address, and the same username from elsewhere.
    assert (
        sign_in(client, url, "seller.max", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 302
    )
    client.logout()
    assert (
        sign_in(client, url, "seller.sol", PASSWORD, REMOTE_ADDR="198.51.100.2").status_code == 302
    )
    client.logout()
    assert (
        sign_in(client, url, "seller.sol", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 429
    )


def test_a_forged_forwarded_for_header_does_not_escape_the_lock(client):
    UserFactory(username="seller.sol", role=Role.SELLER)
    url = LOGIN_PAGES["site"]
    for n in range(5):
        sign_in(client, url, "seller.sol", WRONG, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = sign_in(client, url, "seller.sol", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


def test_unknown_usernames_are_locked_too(client):
    url = LOGIN_PAGES["site"]
    fail(client, url, "nobody.here", 5)
    assert LOCK_MESSAGE in sign_in(client, url, "nobody.here", WRONG).content.decode()


def test_a_good_sign_in_clears_the_count(client):
    UserFactory(username="seller.sol", role=Role.SELLER)
    url = LOGIN_PAGES["site"]
    fail(client, url, "seller.sol", 4)
    assert sign_in(client, url, "seller.sol", PASSWORD).status_code == 302
    client.logout()
    fail(client, url, "seller.sol", 4)
    assert sign_in(client, url, "seller.sol", PASSWORD).status_code == 302


def test_the_lock_is_logged_without_the_password(client, login_page, caplog):
    url, user = login_page
    with caplog.at_level(logging.INFO):
        fail(client, url, user.username, 4)
        sign_in(client, url, user.username, WRONG)
        sign_in(client, url, user.username, PASSWORD)
    lockouts = [r.getMessage() for r in caplog.records if "Locking out" in r.getMessage()]
    assert lockouts
    assert user.username in lockouts[0]
    assert url in lockouts[0]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert WRONG not in logged
    assert PASSWORD not in logged
    # axes keeps the form data of each try: the password is masked there.
    stored = AccessAttempt.objects.get(username=user.username)
    assert stored.failures_since_start == 6
    assert WRONG not in stored.post_data
    assert PASSWORD not in stored.post_data
    assert "password=********************" in stored.post_data
