"""The review queue (REG-02): scope, decisions with reasons, two levels."""

from __future__ import annotations

import pytest

from kexie.core.models import AuditEvent
from kexie.people.choices import PersonSource, ReviewStatus
from kexie.people.models import PersonReview
from kexie.people.services import person_create
from kexie.people.tests.factories import make_person

EMIN_TOWN = "654221100000"
TOLI_TOWN = "654224100000"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _self_registered(name: str, township_code: str, phone: str):
    from kexie.core.models import Region

    return person_create(
        actor=None,
        organisation=None,
        data={"name": name, "phone": phone, "township": Region.objects.get(code=township_code)},
        source=PersonSource.SELF,
    )


def test_reviewer_sees_only_pending_records_in_scope(tree, county_reviewer, login):
    # given one pending record in 额敏 and one in 托里
    _self_registered("阿依古丽", EMIN_TOWN, "19909916001")
    _self_registered("巴特尔", TOLI_TOWN, "19909916002")
    # when the 额敏 reviewer opens the queue
    response = login(county_reviewer).get("/people/review/", **EN)
    # then only the 额敏 record is listed, with the phone masked
    body = response.content.decode()
    assert response.status_code == 200
    assert "阿依古丽" in body and "巴特尔" not in body
    assert "199****6001" in body and "19909916001" not in body


def test_duplicate_hint_is_shown(tree, county_reviewer, login):
    # given a pending registration whose phone another record already has
    make_person(name="马强", township_code=EMIN_TOWN, phone="19909916003")
    _self_registered("马强", EMIN_TOWN, "19909916003")
    # when
    response = login(county_reviewer).get("/people/review/", **EN)
    # then
    assert 'data-testid="duplicate-hint"' in response.content.decode()


def test_reviewer_of_another_county_can_neither_see_nor_decide(tree, outsider, login):
    # given a pending record in 额敏
    person = _self_registered("阿依古丽", EMIN_TOWN, "19909916001")
    client = login(outsider)
    # when the 托里 admin tries to approve it
    response = client.post(f"/people/review/{person.pk}/decide/", {"decision": "approve"})
    # then it does not exist for them, and nothing changed
    assert response.status_code == 404
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.PENDING
    assert "阿依古丽" not in client.get("/people/review/").content.decode()


def test_user_without_review_right_gets_403(tree, county_clerk, login):
    person = _self_registered("阿依古丽", EMIN_TOWN, "19909916001")
    # when
    response = login(county_clerk).post(
        f"/people/review/{person.pk}/decide/", {"decision": "approve"}
    )
    # then
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.PENDING


def test_approve_verifies_with_one_level(tree, county_reviewer, login):
    person = _self_registered("阿依古丽", EMIN_TOWN, "19909916001")
    # when
    response = login(county_reviewer).post(
        f"/people/review/{person.pk}/decide/", {"decision": "approve"}
    )
    # then
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.VERIFIED
    assert person.reviewed_by == county_reviewer
    assert AuditEvent.objects.filter(event_type="person.review").count() == 1


def test_return_needs_a_reason(tree, county_reviewer, login):
    person = _self_registered("阿依古丽", EMIN_TOWN, "19909916001")
    client = login(county_reviewer)
    # when
    client.post(f"/people/review/{person.pk}/decide/", {"decision": "return"})
    # then
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.PENDING
    # when with a reason
    client.post(
        f"/people/review/{person.pk}/decide/", {"decision": "reject", "reason": "非本地区人员"}
    )
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.REJECTED
    assert person.review_note == "非本地区人员"


def test_two_level_review(tree, county_reviewer, prefecture_admin, login, settings):
    # given two review levels
    settings.KEXIE_REGISTRATION_REVIEW_LEVELS = 2
    person = _self_registered("阿依古丽", EMIN_TOWN, "19909916001")
    client = login(county_reviewer)
    # when the county approves
    client.post(f"/people/review/{person.pk}/decide/", {"decision": "approve"})
    # then it waits for the prefecture, which the county reviewer cannot decide
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.PENDING_PREFECTURE
    assert client.get("/people/review/?level=2").status_code == 403
    response = client.post(f"/people/review/{person.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 403
    # when the prefecture approves
    client.logout()
    client = login(prefecture_admin)
    assert "阿依古丽" in client.get("/people/review/?level=2").content.decode()
    client.post(f"/people/review/{person.pk}/decide/", {"decision": "approve"})
    # then
    person.refresh_from_db()
    assert person.review_status == ReviewStatus.VERIFIED
    assert list(PersonReview.objects.filter(person=person).values_list("level", flat=True)) == [
        1,
        2,
    ]


@pytest.mark.parametrize("path", ["/people/review/1/decide/"])
def test_decide_refuses_get(tree, county_reviewer, login, path):
    assert login(county_reviewer).get(path).status_code == 405
