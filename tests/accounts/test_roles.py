"""Each role reaches its own pages and no one else's."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import Role
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/desk/", "/portal/", "/reports/", "/admin/"]

# What each kind of person gets on each page: 200 = the page, 403 = refused,
# "login" = sent to the sign-in page, "admin-login" = sent to the admin's sign-in.
EXPECTED = {
    "anonymous": {
        "/desk/": "login",
        "/portal/": "login",
        "/reports/": "login",
        "/admin/": "admin-login",
    },
    "seller": {"/desk/": 403, "/portal/": 200, "/reports/": 403, "/admin/": "admin-login"},
    "specialist": {"/desk/": 200, "/portal/": 403, "/reports/": 403, "/admin/": 200},
    "manager": {"/desk/": 200, "/portal/": 403, "/reports/": 200, "/admin/": 200},
    "no role": {"/desk/": 403, "/portal/": 403, "/reports/": 403, "/admin/": "admin-login"},
    "admin": {"/desk/": 200, "/portal/": 200, "/reports/": 200, "/admin/": 200},
}


def make_person(kind):
    if kind == "anonymous":
        return None
    if kind == "admin":
        return AdminFactory()
    if kind == "no role":
        return UserFactory()
    return UserFactory(
        role={"seller": Role.SELLER, "specialist": Role.SPECIALIST, "manager": Role.MANAGER}[kind]
    )


def outcome(response):
    if response.status_code == 302:
        return (
            "admin-login"
            if response.url.startswith("/admin/login/")
            else "login"
            if response.url.startswith("/accounts/login/")
            else response.url
        )
    return response.status_code


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_role_reaches_only_its_own_pages(client, kind):
    person = make_person(kind)
    if person is not None:
        client.force_login(person)
    seen = {page: outcome(client.get(page)) for page in PAGES}
    assert seen == EXPECTED[kind]


@pytest.mark.parametrize(
    ("kind", "start_page"),
    [
        ("seller", "/portal/"),
        ("specialist", "/desk/"),
        ("manager", "/reports/"),
        ("admin", "/reports/"),
    ],
)
def test_home_sends_each_role_to_its_start_page(client, kind, start_page):
    client.force_login(make_person(kind))
    assert client.get("/").url == start_page


def test_user_without_role_is_told_so(client):
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 403
    assert b"no role yet" in response.content


def test_refused_page_explains_instead_of_a_bare_error(client):
    client.force_login(UserFactory(role=Role.SELLER))
    response = client.get("/desk/")
    assert response.status_code == 403
    assert b"belongs to another role" in response.content


def test_roles_exist_as_groups_with_their_permissions():
    granted = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }
    assert granted["specialists"] >= {"use_desk"}
    assert granted["managers"] >= {"use_desk", "view_reports"}
    assert granted["sellers"] == {"use_portal"}
    assert "view_reports" not in granted["specialists"]


def test_sign_in_and_out_with_a_password(client):
    UserFactory(username="ana", role=Role.SPECIALIST)
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get("/desk/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/desk/").status_code == 302


def test_wrong_password_shows_an_error_on_the_form(client):
    UserFactory(username="ana", role=Role.SPECIALIST)
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
