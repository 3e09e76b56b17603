"""Browser journey of the registry (issue 4): a citizen registers on a phone-sized screen, the
county reviewer finds the pending record by two characters of the name and approves it, and
another county's reviewer cannot see it. Playwright driving the system's Chromium."""

from __future__ import annotations

import pytest

from kexie.conftest import PASSWORD, _persona
from kexie.core.models import Region
from kexie.people.models import Person
from kexie.portal.tests.test_browser import browser_page  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

NAME = "热依拉·夏木西"
PHONE = "19909912345"


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.mark.django_db(transaction=True)
def test_citizen_registers_and_the_county_reviewer_approves(
    browser_page,  # noqa: F811
    live_server,
    tree,
    county_reviewer,
):
    page, console_errors, outside_requests = browser_page
    base = live_server.url
    toli_reviewer = _persona("toli_reviewer", tree.toli, "reviewer")
    township = Region.objects.get(code="654221100000")  # 额敏镇, reviewed by 额敏县科协

    # given the public registration form in Chinese on a phone-sized screen
    page.goto(f"{base}/register/")
    assert "登记" in page.content()
    # when a citizen fills it in (the dot typed as a look-alike) and consents
    page.fill("input[name=name]", "热依拉•夏木西")
    page.fill("input[name=phone]", PHONE)
    page.select_option("select[name=township]", str(township.pk))
    page.fill("input[name=birth_date]", "1990-05-06")
    page.fill("input[name=employer_text]", "额敏县人民医院")
    # the consent box starts unticked
    assert not page.is_checked("input[name=consent_privacy]")
    page.check("input[name=consent_privacy]")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    # then the record waits for the county's review, with the dot normalised
    person = Person.objects.get(name=NAME)
    assert person.review_status == "pending"
    assert person.organisation == tree.emin_town
    assert PHONE not in page.content()

    # when the 额敏 reviewer logs in and searches two characters of the name
    page.context.clear_cookies()
    _login(page, base, county_reviewer.username)
    page.goto(f"{base}/people/")
    page.fill("input[name=q]", "热依")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    # then the pending record is found
    assert NAME in page.content()

    # when the reviewer opens the review queue and approves the record
    page.goto(f"{base}/people/review/")
    assert NAME in page.content()
    page.click(f"form[action='/people/review/{person.pk}/decide/'] button[value=approve]")
    page.wait_for_load_state()
    person.refresh_from_db()
    # then it is verified, by that reviewer
    assert person.review_status == "verified"
    assert person.reviewed_by == county_reviewer

    # and the 托里 reviewer finds nothing and is refused the record itself
    page.context.clear_cookies()
    _login(page, base, toli_reviewer.username)
    page.goto(f"{base}/people/?q=热依")
    assert NAME not in page.content()
    errors_before_refusal = list(console_errors)
    response = page.goto(f"{base}/people/{person.pk}/")
    assert response.status == 404
    page.goto(f"{base}/people/review/")
    assert NAME not in page.content()

    # no script or resource failed before the deliberate 404, nothing left the server
    assert errors_before_refusal == []
    assert outside_requests == []
