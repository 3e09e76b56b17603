"""Duplicates: finding, merging without loss, undo, dismiss (REG-03)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from kexie.core.models import AuditEvent
from kexie.people.choices import DuplicateStatus
from kexie.people.dedup import (
    duplicates_find_for,
    duplicates_scan,
    merge_snapshot,
    person_merge,
    person_merge_undo,
)
from kexie.people.models import DuplicateCandidate, Person, PersonContact
from kexie.people.services import PERSON_FIELDS, contact_add, person_update
from kexie.people.tests.factories import make_person, synthetic_id

pytestmark = pytest.mark.django_db

EMIN = "654221100000"


def _pair(**second_values):
    a = make_person(
        name="王芳",
        township_code=EMIN,
        phone="19909910101",
        id_number=synthetic_id(),
        expertise="果树栽培",
        achievements="论文一篇",
    )
    b = make_person(
        name="王芳",
        township_code=EMIN,
        phone="19909910101",
        email="wf@example.cn",
        school="新疆农业大学",
        achievements="专利一项",
        **second_values,
    )
    return a, b


def test_same_phone_and_name_is_a_certain_candidate(tree):
    a, b = _pair()
    assert duplicates_find_for(b) == 1
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.first_id, candidate.second_id) == (a.pk, b.pk)
    assert candidate.reason == "phone" and candidate.certainty == "certain"
    # finding again creates nothing
    assert duplicates_find_for(b) == 0
    assert duplicates_scan() == 0


def test_scan_finds_name_birth_employer_as_probable(tree):
    import datetime as dt

    make_person(
        name="李强", township_code=EMIN, birth_date=dt.date(1980, 1, 2), employer_text="额敏县医院"
    )
    make_person(
        name="李强", township_code=EMIN, birth_date=dt.date(1980, 1, 2), employer_text="额敏县医院"
    )
    make_person(
        name="李强", township_code=EMIN, birth_date=dt.date(1980, 1, 2), employer_text="别处"
    )
    assert duplicates_scan() == 1
    candidate = DuplicateCandidate.objects.get()
    assert candidate.reason == "name_birth_employer" and candidate.certainty == "probable"


def _values(person):
    return {name: getattr(person, Person._meta.get_field(name).attname) for name in PERSON_FIELDS}


def test_merge_loses_nothing_and_undo_restores_field_by_field(tree, county_admin):
    a, b = _pair()
    contact = contact_add(
        actor=county_admin, person=b, on_date=a.created_at.date(), channel="phone", topic="回访"
    )
    before_a = _values(Person.objects.get(pk=a.pk))
    before_b = _values(Person.objects.get(pk=b.pk))
    # when b is merged into a, taking b's achievements and keeping both affiliations
    log = person_merge(actor=county_admin, kept=b, merged=a, choices={"achievements": "merged"})
    kept = Person.objects.get(pk=b.pk)
    merged = Person.objects.get(pk=a.pk)
    assert merged.merged_into_id == kept.pk and merged.id_index is None
    # the kept record carries a's ID number (b had none) and its related rows
    assert kept.id_number == before_a["id_number"]
    assert PersonContact.objects.get(pk=contact.pk).person_id == kept.pk
    # then every non-empty value of both records is on the kept record or in the merge log
    snapshot = merge_snapshot(log)
    for before, key in ((before_a, "merged"), (before_b, "kept")):
        for name, value in before.items():
            if value in (None, ""):
                continue
            attname = Person._meta.get_field(name).attname
            on_kept = getattr(kept, attname) == value
            in_log = snapshot[key][attname] == (
                value.isoformat() if hasattr(value, "isoformat") else value
            )
            assert on_kept or in_log, name
    assert AuditEvent.objects.filter(event_type="person.merge").count() == 1
    # when the merge is undone
    person_merge_undo(actor=county_admin, log=log)
    # then both records are exactly as before
    assert _values(Person.objects.get(pk=a.pk)) == before_a
    assert _values(Person.objects.get(pk=b.pk)) == before_b
    assert Person.objects.get(pk=a.pk).merged_into_id is None
    assert PersonContact.objects.get(pk=contact.pk).person_id == b.pk
    assert AuditEvent.objects.filter(event_type="person.merge_undo").count() == 1


def test_undo_refused_when_kept_record_changed(tree, county_admin):
    a, b = _pair()
    log = person_merge(actor=county_admin, kept=a, merged=b)
    person_update(actor=county_admin, person=Person.objects.get(pk=a.pk), data={"post": "站长"})
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        person_merge_undo(actor=county_admin, log=log)
    assert "changed after the merge" in " ".join(exc.value.messages)


def test_merge_page_flow_and_scope(tree, county_admin, outsider, login):
    a, b = _pair()
    duplicates_find_for(b)
    candidate = DuplicateCandidate.objects.get()
    client = login(outsider)
    assert client.get(f"/people/duplicates/{candidate.pk}/").status_code == 404
    client = login(county_admin)
    html = client.get(f"/people/duplicates/{candidate.pk}/").content.decode()
    assert "199****0101" in html and "19909910101" not in html
    assert a.id_number not in html
    response = client.post(
        f"/people/duplicates/{candidate.pk}/merge/", {"keep": "first", "field_school": "second"}
    )
    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.MERGED
    assert Person.objects.get(pk=a.pk).school == "新疆农业大学"
    log_url = response["Location"]
    assert client.get(log_url).status_code == 200
    assert client.post(log_url + "undo/").status_code == 302
    assert Person.objects.get(pk=b.pk).merged_into_id is None


def test_dismiss(tree, county_admin, login):
    _a, b = _pair()
    duplicates_find_for(b)
    candidate = DuplicateCandidate.objects.get()
    client = login(county_admin)
    assert client.post(f"/people/duplicates/{candidate.pk}/dismiss/").status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.DISMISSED
    assert AuditEvent.objects.filter(event_type="person.duplicate_dismiss").count() == 1
    # a dismissed pair is not proposed again
    assert duplicates_scan() == 0
