"""Self-registration (REG-01, REG-02, REG-04, AUTH-11, PI-02..PI-04) and the status look-up."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from kexie.core.models import AuditEvent, Region
from kexie.people.choices import ConsentKind, PersonSource, ReviewDecision, ReviewStatus
from kexie.people.models import Consent, Person
from kexie.people.services import person_review
from kexie.people.tests.factories import make_person, synthetic_id

EMIN_TOWN = "654221100000"
TOLI_TOWN = "654224100000"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _form(**overrides) -> dict:
    data = {
        "name": "古丽娜",
        "gender": "2",
        "ethnicity": "",
        "birth_date": "1990-05-06",
        "phone": "19909915501",
        "township": str(Region.objects.get(code=EMIN_TOWN).pk),
        "employer_text": "额敏县农业技术推广站",
        "worker_type": "",
        "title": "",
        "education": "",
        "id_number": "",
        "consent_privacy": "on",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _code(response) -> str:
    match = re.search(rb'data-testid="status-code">([A-Z0-9-]+)<', response.content)
    assert match, response.content[:2000]
    return match.group(1).decode()


def test_registration_page_shows_unticked_consent_and_notice_version(client, tree):
    # when
    response = client.get("/register/", **EN)
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "2026-12" in body
    checkbox = re.search(r'<input[^>]*name="consent_privacy"[^>]*>', body).group(0)
    assert "checked" not in checkbox
    assert "no-store" in response["Cache-Control"]
    # the honeypot is hidden by a class, not an inline style (CSP)
    assert 'class="d-none"' in body
    assert "style=" not in body


def test_registration_lands_pending_at_the_township_association(client, tree):
    # when
    response = client.post("/register/", _form(), **EN, REMOTE_ADDR="10.0.0.1")
    # then
    assert response.status_code == 200
    assert "Registration received" in response.content.decode()
    person = Person.objects.get()
    assert person.source == PersonSource.SELF
    assert person.review_status == ReviewStatus.PENDING
    assert person.organisation == tree.emin_town
    assert person.employer_text == "额敏县农业技术推广站"
    assert len(_code(response).replace("-", "")) >= 10
    assert person.status_token and _code(response) not in person.status_token
    consent = Consent.objects.get(person=person)
    assert (consent.kind, consent.notice_version, consent.ip_address) == (
        ConsentKind.PRIVACY,
        "2026-12",
        "10.0.0.1",
    )
    assert AuditEvent.objects.filter(event_type="person.self_register").count() == 1


def test_township_without_association_goes_to_the_county(client, tree):
    # given a township of 托里 without a township association of its own
    town = Region.objects.filter(parent__code="654224", level="township").exclude(code=TOLI_TOWN)
    # when
    client.post("/register/", _form(township=str(town.first().pk)), **EN)
    # then
    assert Person.objects.get().organisation == tree.toli


def test_unticked_consent_is_refused(client, tree):
    # when
    response = client.post("/register/", _form(consent_privacy=None), **EN)
    # then
    assert response.status_code == 200
    assert "needs your consent to the privacy notice" in response.content.decode()
    assert Person.objects.count() == 0


def test_id_number_without_its_own_consent_is_refused(client, tree):
    # when
    id_number = synthetic_id(birth=dt.date(1990, 5, 6), male=False)
    response = client.post("/register/", _form(id_number=id_number), **EN)
    # then
    assert "separate consent for the ID number" in response.content.decode()
    assert Person.objects.count() == 0


def test_id_number_with_its_consent_stores_both_consents(client, tree):
    id_number = synthetic_id(birth=dt.date(1990, 5, 6), male=False)
    # when
    client.post("/register/", _form(id_number=id_number, consent_id="on"), **EN)
    # then
    person = Person.objects.get()
    assert person.id_number == id_number
    assert sorted(person.consents.values_list("kind", flat=True)) == ["id_number", "privacy"]


def test_under_14_is_told_to_register_through_a_guardian(client, tree):
    birth = (timezone.localdate() - dt.timedelta(days=365 * 12)).isoformat()
    # when
    response = client.post("/register/", _form(birth_date=birth), **EN)
    # then
    assert "Children under 14 cannot register online" in response.content.decode()
    assert Person.objects.count() == 0


def test_under_18_is_flagged(client, tree):
    birth = (timezone.localdate() - dt.timedelta(days=365 * 16 + 10)).isoformat()
    # when
    client.post("/register/", _form(birth_date=birth), **EN)
    # then
    assert Person.objects.get().is_minor is True


@pytest.mark.parametrize("match", ["phone", "id_number"])
def test_existing_person_registering_again_gets_the_same_answer(client, tree, match):
    # given a registered person
    id_number = synthetic_id(birth=dt.date(1990, 5, 6), male=False)
    existing = make_person(
        name="古丽娜", township_code=EMIN_TOWN, phone="19909915501", id_number=id_number
    )
    data = (
        _form()
        if match == "phone"
        else _form(phone="19909915599", id_number=id_number, consent_id="on")
    )
    # when the same person registers again
    response = client.post("/register/", data, **EN)
    # then the answer is the "received" page with a code, and nothing was created
    assert response.status_code == 200
    assert "Registration received" in response.content.decode()
    assert _code(response)
    assert list(Person.objects.values_list("pk", flat=True)) == [existing.pk]
    event = AuditEvent.objects.get(event_type="person.self_register")
    assert event.object_id == str(existing.pk)
    assert event.details["existing"] is True


def test_honeypot_gets_the_normal_answer_and_nothing_is_stored(client, tree):
    # when
    response = client.post("/register/", _form(website="http://spam.example"), **EN)
    # then
    assert response.status_code == 200
    assert "Registration received" in response.content.decode()
    assert Person.objects.count() == 0


def test_registrations_are_throttled_per_phone(client, tree):
    # given three registrations with one phone from different addresses (the first creates,
    # the next two are "existing" and look the same)
    for n in range(3):
        client.post("/register/", _form(), REMOTE_ADDR=f"10.0.1.{n}", **EN)
    # when a fourth arrives
    response = client.post("/register/", _form(), REMOTE_ADDR="10.0.1.9", **EN)
    # then it is told to try later
    assert response.status_code == 429
    assert "try again later" in response.content.decode()
    assert Person.objects.count() == 1


def test_registrations_are_throttled_per_address(client, tree):
    # given five registrations from one address
    for n in range(5):
        client.post("/register/", _form(phone=f"1990991560{n}"), REMOTE_ADDR="10.0.2.1", **EN)
    # when a sixth arrives
    response = client.post("/register/", _form(phone="19909915609"), REMOTE_ADDR="10.0.2.1", **EN)
    # then
    assert response.status_code == 429
    assert Person.objects.count() == 5


def _register(client) -> tuple[Person, str]:
    response = client.post("/register/", _form(), **EN)
    return Person.objects.get(), _code(response)


def test_status_lookup_with_code_shows_the_status(client, tree):
    # given
    _person, code = _register(client)
    # when
    response = client.post(
        "/register/status/", {"phone": "19909915501", "code": code.lower()}, follow=True, **EN
    )
    # then
    assert response.status_code == 200
    assert "Awaiting county review" in response.content.decode()


def test_status_lookup_with_a_wrong_code_shows_nothing(client, tree):
    _register(client)
    # when
    response = client.post(
        "/register/status/", {"phone": "19909915501", "code": "AAAA-BBBB-CCCC"}, **EN
    )
    # then
    assert "do not match a registration" in response.content.decode()
    assert client.get("/register/status/record/").status_code == 302


def test_returned_record_shows_the_reason_and_can_be_resubmitted(client, tree, county_reviewer):
    # given a registration returned by the 额敏 reviewer
    person, code = _register(client)
    person_review(
        actor=county_reviewer,
        person=person,
        decision=ReviewDecision.RETURN,
        reason="请填写工作单位全称",
    )
    # when the person looks it up
    client.post("/register/status/", {"phone": "19909915501", "code": code}, **EN)
    response = client.get("/register/status/record/", **EN)
    # then the reason is shown with the correction form
    body = response.content.decode()
    assert "请填写工作单位全称" in body
    assert "Returned for correction" in body
    # when the person corrects and resubmits
    response = client.post(
        "/register/status/resubmit/",
        _form(employer_text="额敏县农业技术推广中心", consent_privacy=None, website=None),
        follow=True,
        **EN,
    )
    # then the record is pending again with the new employer
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.PENDING
    assert person.employer_text == "额敏县农业技术推广中心"
    assert person.reviews.last().decision == ReviewDecision.RESUBMIT
    assert AuditEvent.objects.filter(event_type="person.resubmit").count() == 1
    assert "Awaiting county review" in response.content.decode()


def test_a_pending_record_cannot_be_resubmitted(client, tree):
    person, code = _register(client)
    client.post("/register/status/", {"phone": "19909915501", "code": code}, **EN)
    # when
    response = client.post(
        "/register/status/resubmit/", _form(employer_text="别的单位", consent_privacy=None), **EN
    )
    # then
    assert "not waiting for your correction" in response.content.decode()
    person.refresh_from_db()
    assert person.employer_text == "额敏县农业技术推广站"
