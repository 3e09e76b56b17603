"""Registration targets and progress (issue 4 part 7), the search-index command and the
people demo (part 9)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from kexie.accounts.services import role_grant
from kexie.core.models import AuditEvent
from kexie.people.choices import ReviewStatus
from kexie.people.models import Person, RegistrationTarget
from kexie.people.selectors import progress_units, registration_progress
from kexie.people.tests.factories import make_person


@pytest.fixture
def prefecture_reviewer(tree):
    from kexie.accounts.models import User

    user = User.objects.create_user(username="pref_rev", password="x")
    role_grant(actor=None, user=user, organisation=tree.prefecture, role="reviewer")
    return user


def _verified(person: Person, *, when: dt.datetime, completeness=None, confirmed=None) -> None:
    values = {
        "review_status": ReviewStatus.VERIFIED,
        "reviewed_at": when,
        "last_confirmed_on": confirmed or when.date(),
    }
    if completeness is not None:
        values["completeness"] = completeness
    Person.objects.filter(pk=person.pk).update(**values)


def _registry(tree):
    """额敏: 3 verified this year (one stale, two complete), 1 verified last year, 1 pending,
    1 merged away; 托里: 1 verified this year."""
    now = timezone.now()
    last_year = now.replace(year=now.year - 1)
    town = "654221100000"
    people = [make_person(name=f"额敏{i}", township_code=town) for i in range(6)]
    _verified(people[0], when=now, completeness=90)
    _verified(people[1], when=now, completeness=85)
    _verified(people[2], when=now, completeness=40, confirmed=dt.date(2000, 1, 1))
    _verified(people[3], when=last_year, completeness=50)
    Person.objects.filter(pk=people[5].pk).update(merged_into=people[0])
    _verified(people[5], when=now)
    toli = make_person(name="托里一", township_code="654224100000")
    _verified(toli, when=now)
    return people


@pytest.mark.django_db
def test_progress_counts_per_county(tree, prefecture_admin, django_assert_max_num_queries):
    # given persons in two counties and a target for 额敏
    _registry(tree)
    year = timezone.localdate().year
    RegistrationTarget.objects.create(organisation=tree.emin, year=year, target=8)
    # when the prefecture's progress is computed (bounded queries, whatever the rows: scope
    # paths, the scope's organisation ids, units, counts, targets)
    with django_assert_max_num_queries(5):
        units = progress_units(user=prefecture_admin)
        rows = registration_progress(user=prefecture_admin, year=year, units=units)
    by_code = {r["organisation"].code: r for r in rows}
    # then 额敏 has 4 verified by the end of this year out of 5 current records
    emin = by_code["KX654221"]
    assert (emin["target"], emin["verified"], emin["records"]) == (8, 4, 5)
    assert emin["percent_of_target"] == 50.0
    assert emin["verified_percent"] == 80.0
    assert emin["complete_percent"] == 50.0  # 2 of 4 verified have completeness ≥ 80
    assert emin["stale_percent"] == 25.0
    # and last year only the one verified then counts
    rows = registration_progress(user=prefecture_admin, year=year - 1, units=units)
    assert {r["organisation"].code: r["verified"] for r in rows}["KX654221"] == 1
    assert by_code["KX654224"]["verified"] == 1
    assert by_code["KX654224"]["target"] is None


@pytest.mark.django_db
def test_county_user_sees_their_county_only(tree, county_admin):
    _registry(tree)
    units = progress_units(user=county_admin)
    assert [u.code for u in units] == ["KX654221"]
    towns = progress_units(user=county_admin, county=tree.emin)
    assert [u.code for u in towns] == ["KX654221100000"]
    rows = registration_progress(user=county_admin, year=timezone.localdate().year, units=towns)
    assert rows[0]["verified"] == 4  # the one verified last year still counts


@pytest.mark.django_db
def test_progress_page_draws_chart_without_inline_script(tree, prefecture_admin, login):
    _registry(tree)
    client = login(prefecture_admin)
    response = client.get("/people/targets/progress/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="progress-chart-data"' in html
    assert "js/progress_chart.js" in html
    assert "额敏县科学技术协会" in html and "托里县科学技术协会" in html
    # drill down to the townships of one county
    response = client.get(f"/people/targets/progress/?county={tree.emin.pk}")
    assert "额敏镇科普协会" in response.content.decode()
    assert "托里县科学技术协会" not in response.content.decode()


@pytest.mark.django_db
def test_county_admin_cannot_drill_into_another_county(tree, county_admin, login):
    response = login(county_admin).get(f"/people/targets/progress/?county={tree.toli.pk}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_prefecture_reviewer_sets_a_target(tree, prefecture_reviewer, login):
    client = login(prefecture_reviewer)
    response = client.post(f"/people/targets/{tree.emin.pk}/", {"year": 2026, "target": 120})
    assert response.status_code == 302
    row = RegistrationTarget.objects.get(organisation=tree.emin, year=2026)
    assert row.target == 120 and row.set_by == prefecture_reviewer
    assert AuditEvent.objects.filter(event_type="person.target_set").exists()
    # a second save updates the same row
    client.post(f"/people/targets/{tree.emin.pk}/", {"year": 2026, "target": 150})
    assert RegistrationTarget.objects.get(organisation=tree.emin, year=2026).target == 150


@pytest.mark.django_db
def test_county_cannot_set_its_own_target(tree, county_admin, login):
    client = login(county_admin)
    response = client.post(f"/people/targets/{tree.emin.pk}/", {"year": 2026, "target": 1})
    assert response.status_code == 403
    assert not RegistrationTarget.objects.exists()


@pytest.mark.django_db
def test_target_form_rejects_bad_values(tree, prefecture_reviewer, login):
    client = login(prefecture_reviewer)
    response = client.post(f"/people/targets/{tree.emin.pk}/", {"year": 1999, "target": -1})
    assert response.status_code == 200
    assert not RegistrationTarget.objects.exists()


@pytest.mark.django_db
def test_targets_only_for_associations(tree, prefecture_reviewer, login):
    response = login(prefecture_reviewer).get(f"/people/targets/{tree.emin_school.pk}/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_rebuild_search_index_command(tree):
    from kexie.people.selectors import person_search

    make_person(name="阿依古丽·买买提", township_code="654221100000")
    from kexie.people import search

    search.clear_index()
    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "1 record(s)" in out.getvalue()
    assert AuditEvent.objects.filter(event_type="person.index_rebuild").exists()
    from kexie.accounts.models import User

    user = User.objects.create_user(username="v", password="x")
    role_grant(actor=None, user=user, organisation=tree.prefecture, role="viewer")
    assert person_search(user=user, query="古丽").count() == 1
