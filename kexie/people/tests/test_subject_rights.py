"""Data-subject rights (PI-08): sign-in with a one-time code, own data, requests; purge (PI-09)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from kexie.core.models import AuditEvent
from kexie.people import sms
from kexie.people.choices import (
    ConsentKind,
    PersonSource,
    ReviewStatus,
    SubjectRequestKind,
    SubjectRequestStatus,
)
from kexie.people.identity import phone_index_of
from kexie.people.models import Consent, OneTimeCode, Person, SubjectRequest
from kexie.people.registration import people_purge, subject_request_create
from kexie.people.selectors import person_search
from kexie.people.tests.factories import make_person

EMIN_TOWN = "654221100000"
PHONE = "19909917001"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


@pytest.fixture
def person(tree):
    return make_person(
        name="古丽娜", township_code=EMIN_TOWN, phone=PHONE, employer_text="额敏县医院"
    )


def _sent_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1].text).group(0)


def _sign_in(client) -> None:
    client.post("/register/me/", {"phone": PHONE}, **EN)
    client.post("/register/me/verify/", {"phone": PHONE, "code": _sent_code()}, **EN)


def test_code_is_sent_and_only_its_hash_stored(client, person):
    # when
    response = client.post("/register/me/", {"phone": PHONE}, **EN)
    # then
    assert response.status_code == 200
    assert len(sms.outbox) == 1
    code = _sent_code()
    otp = OneTimeCode.objects.get()
    assert code not in otp.code_hash
    assert otp.expires_at - timezone.now() <= dt.timedelta(minutes=10)


def test_unknown_phone_gets_the_same_answer_and_no_message(client, tree):
    # when
    response = client.post("/register/me/", {"phone": "19909917999"}, **EN)
    # then the page is the same "enter the code" page, but nothing was sent
    assert response.status_code == 200
    assert "Enter the code" in response.content.decode()
    assert sms.outbox == []


def test_sign_in_with_the_right_code_shows_own_record(client, person):
    # when
    _sign_in(client)
    response = client.get("/register/me/record/", **EN)
    # then
    body = response.content.decode()
    assert "古丽娜" in body
    assert "199****7001" in body
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(event_type="person.subject_access").exists()


def test_wrong_code_is_refused(client, person):
    client.post("/register/me/", {"phone": PHONE}, **EN)
    wrong = "000000" if _sent_code() != "000000" else "111111"
    # when
    response = client.post("/register/me/verify/", {"phone": PHONE, "code": wrong}, **EN)
    # then
    assert "wrong or has expired" in response.content.decode()
    assert client.get("/register/me/record/").status_code == 302
    assert OneTimeCode.objects.get().attempts == 1


def test_expired_code_is_refused(client, person):
    client.post("/register/me/", {"phone": PHONE}, **EN)
    OneTimeCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    # when
    response = client.post("/register/me/verify/", {"phone": PHONE, "code": _sent_code()}, **EN)
    # then
    assert "wrong or has expired" in response.content.decode()


def test_code_is_spent_after_five_wrong_attempts(client, person):
    client.post("/register/me/", {"phone": PHONE}, **EN)
    code = _sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(5):
        client.post("/register/me/verify/", {"phone": PHONE, "code": wrong}, **EN)
    # when the right code comes after five wrong ones
    response = client.post("/register/me/verify/", {"phone": PHONE, "code": code}, **EN)
    # then it no longer works
    assert "wrong or has expired" in response.content.decode()
    assert client.get("/register/me/record/").status_code == 302


def test_code_works_only_once(client, person):
    _sign_in(client)
    code = _sent_code()
    client.post("/register/me/sign-out/")
    # when
    response = client.post("/register/me/verify/", {"phone": PHONE, "code": code}, **EN)
    # then
    assert "wrong or has expired" in response.content.decode()


def test_sending_codes_is_throttled(client, person):
    for _n in range(3):
        client.post("/register/me/", {"phone": PHONE}, **EN)
    # when
    response = client.post("/register/me/", {"phone": PHONE}, **EN)
    # then
    assert response.status_code == 429
    assert len(sms.outbox) == 3


def test_sign_in_cycles_the_session(client, person):
    client.get("/register/me/")
    client.post("/register/me/", {"phone": PHONE}, **EN)
    before = client.session.session_key
    client.post("/register/me/verify/", {"phone": PHONE, "code": _sent_code()}, **EN)
    assert client.session.session_key != before


def test_download_contains_own_data(client, person):
    _sign_in(client)
    # when
    response = client.get(f"/register/me/download/?record={person.pk}")
    # then
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["name"] == "古丽娜"
    assert data["phone"] == PHONE
    assert data["employer"] == "额敏县医院"


def test_someone_elses_record_cannot_be_downloaded(client, person):
    other = make_person(name="巴特尔", township_code=EMIN_TOWN, phone="19909917002")
    _sign_in(client)
    # when
    response = client.get(f"/register/me/download/?record={other.pk}")
    # then
    assert response.status_code == 404


def test_correction_request_is_recorded(client, person):
    _sign_in(client)
    # when
    client.post(
        "/register/me/request/",
        {"record": person.pk, "kind": "correction", "details": "单位应为额敏县人民医院"},
    )
    # then
    request = SubjectRequest.objects.get()
    assert (request.kind, request.channel, request.status) == ("correction", "self", "open")
    assert request.details == "单位应为额敏县人民医院"
    assert request.organisation == person.organisation
    assert AuditEvent.objects.filter(event_type="person.subject_request").count() == 1


def test_consent_withdrawal(client, tree):
    # given a self-registered person with a consent
    person = _self_registered("古丽娜", phone=PHONE)
    Consent.objects.create(
        person=person, kind=ConsentKind.PRIVACY, notice_version="2026-12", given_at=timezone.now()
    )
    _sign_in(client)
    # when
    client.post("/register/me/withdraw/", {"record": person.pk})
    # then
    assert Consent.objects.get().withdrawn_at is not None
    assert AuditEvent.objects.filter(event_type="person.consent_withdraw").count() == 1


def test_deletion_request_handled_deletes_the_record(client, person, county_admin, login):
    # given a deletion request by the person
    _sign_in(client)
    client.post("/register/me/request/", {"record": person.pk, "kind": "deletion"})
    request = SubjectRequest.objects.get()
    assert person_search(user=county_admin, query="古丽娜").count() == 1
    client.post("/register/me/sign-out/")
    # when the 额敏 admin marks it done
    staff = login(county_admin)
    response = staff.post(f"/people/requests/{request.pk}/", {"status": "done", "answer": "已删除"})
    # then the record is gone, search finds nothing, the request stays as done
    assert response.status_code == 302
    assert not Person.objects.filter(pk=person.pk).exists()
    assert person_search(user=county_admin, query="古丽娜").count() == 0
    request.refresh_from_db()
    assert (request.status, request.person_id) == (SubjectRequestStatus.DONE, None)
    assert AuditEvent.objects.filter(event_type="person.delete").count() == 1
    assert AuditEvent.objects.filter(event_type="person.subject_request_handle").count() == 1


def test_outsider_cannot_handle_a_request(person, outsider, login):
    request = subject_request_create(actor=None, person=person, kind=SubjectRequestKind.DELETION)
    # when
    response = login(outsider).post(f"/people/requests/{request.pk}/", {"status": "done"})
    # then
    assert response.status_code == 404
    assert Person.objects.filter(pk=person.pk).exists()


def test_staff_records_a_request_for_a_person_without_a_record(tree, county_clerk, login):
    # when
    response = login(county_clerk).post(
        "/people/requests/new/",
        {"organisation": tree.emin.pk, "kind": "access", "details": "张先生来电，要求查询信息"},
    )
    # then
    assert response.status_code == 302
    request = SubjectRequest.objects.get()
    assert (request.channel, request.person_id, request.organisation) == (
        "staff",
        None,
        tree.emin,
    )


def test_request_list_shows_only_requests_in_scope(person, tree, county_clerk, login):
    toli = make_person(name="巴特尔", township_code="654224100000", phone="19909917003")
    subject_request_create(actor=None, person=person, kind="correction", details="改单位")
    subject_request_create(actor=None, person=toli, kind="correction", details="改职称")
    # when
    body = login(county_clerk).get("/people/requests/").content.decode()
    # then
    assert "古丽娜" in body and "巴特尔" not in body


def _self_registered(name: str, **values) -> Person:
    person = make_person(name=name, township_code=EMIN_TOWN, **values)
    Person.objects.filter(pk=person.pk).update(source=PersonSource.SELF)
    return person


def test_purge(tree):
    now = timezone.now()
    old = now - dt.timedelta(days=31)
    # given a rejected self-registration decided 31 days ago, one decided yesterday,
    rejected = _self_registered("甲")
    Person.objects.filter(pk=rejected.pk).update(
        review_status=ReviewStatus.REJECTED, reviewed_at=old
    )
    recent = _self_registered("乙")
    Person.objects.filter(pk=recent.pk).update(
        review_status=ReviewStatus.REJECTED, reviewed_at=now - dt.timedelta(days=1)
    )
    # a self-registration whose consent was withdrawn 31 days ago, a staff record likewise,
    withdrawn = _self_registered("丙")
    staff = make_person(name="丁", township_code=EMIN_TOWN)
    for p in (withdrawn, staff):
        Consent.objects.create(
            person=p, kind=ConsentKind.PRIVACY, notice_version="1", given_at=old, withdrawn_at=old
        )
    # an expired code and a handled request from four years ago
    OneTimeCode.objects.create(
        phone_index=phone_index_of(PHONE), code_hash="x", purpose="self_service", expires_at=old
    )
    handled = SubjectRequest.objects.create(
        organisation=tree.emin,
        kind="access",
        channel="staff",
        status="done",
        handled_at=now - dt.timedelta(days=4 * 365),
    )
    # when
    counts = people_purge()
    # then
    assert counts == {"rejected": 1, "withdrawn": 1, "codes": 1, "requests": 1}
    assert set(Person.objects.values_list("name", flat=True)) == {"乙", "丁"}
    assert not OneTimeCode.objects.exists()
    assert not SubjectRequest.objects.filter(pk=handled.pk).exists()
    event = AuditEvent.objects.filter(event_type="person.purge", object_repr="purge").get()
    assert event.details == counts
    # and the command finds nothing more
    call_command("purge_people")
    assert set(Person.objects.values_list("name", flat=True)) == {"乙", "丁"}
