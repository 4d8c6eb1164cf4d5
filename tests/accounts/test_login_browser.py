import pytest

from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_signs_in_and_lands_on_the_portal(browser_page):
    UserFactory(username="sol", first_name="Sol", last_name="Santos", role=Role.SELLER)
    page = browser_page
    page.goto("/desk/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "sol")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    # `next` was /desk/, which is not a seller's page: they are refused, with a way home.
    assert page.locator("h1").inner_text() == "You can’t open this page"
    page.get_by_role("link", name="Go to your start page").click()
    assert page.url.endswith("/portal/")
    assert page.locator("h1").inner_text() == "My account health"
    assert page.get_by_role("navigation", name="Main").inner_text().strip() == "My account"
    page.get_by_role("button", name="Sign out").click()
    assert "/accounts/login/" in page.url
