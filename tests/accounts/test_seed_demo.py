import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.demo import DEMO_LOGINS
from accounts.models import User

pytestmark = pytest.mark.django_db


def seed() -> str:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_duplicates_nothing():
    seed()
    before = {
        user.username: list(user.groups.values_list("name", flat=True))
        for user in User.objects.all()
    }
    seed()
    after = {
        user.username: list(user.groups.values_list("name", flat=True))
        for user in User.objects.all()
    }
    assert before == after
    assert User.objects.count() == len(DEMO_LOGINS)


def test_every_printed_login_can_sign_in(client):
    output = seed()
    for login in DEMO_LOGINS:
        assert login.username in output
        assert client.login(username=login.username, password=settings.DEMO_PASSWORD), (
            login.username
        )
        client.logout()


def test_demo_logins_cover_every_role():
    seed()
    roles = {
        group for user in User.objects.all() for group in user.groups.values_list("name", flat=True)
    }
    assert roles == {"specialists", "managers", "sellers"}
    assert User.objects.filter(groups__name="specialists").count() == 2
    assert User.objects.get(username="admin").is_superuser


@override_settings(DEMO_DATA_ALLOWED=False)
def test_seed_demo_refuses_where_demo_data_is_off():
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED"):
        call_command("seed_demo")
    assert not User.objects.exists()
