"""The staff pages of the talent registry: list, search box, detail, reveal, create and edit."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.utils import timezone, translation

from kexie.accounts.reauth import SESSION_KEY
from kexie.core.models import AuditEvent, Region
from kexie.people.identity import age_on
from kexie.people.models import Person, PersonContact
from kexie.people.tests.factories import make_person, synthetic_id

EMIN_TOWN = "654221100000"
EMIN_OTHER_TOWN = "654221101000"  # 玉什喀拉苏镇: no association of its own → 额敏县科协
TOLI_TOWN = "654224100000"
ID_NUMBER = synthetic_id()
PHONE = "19909917701"
EMAIL = "zhou.hong@example.cn"

pytestmark = pytest.mark.django_db


def reauthenticated(client):
    session = client.session
    session[SESSION_KEY] = int(time.time())
    session.save()
    return client


def body(response) -> str:
    return response.content.decode()


def table_part(html: str) -> str:
    return html.split('data-testid="person-table"', 1)[1]


@pytest.fixture
def people(tree):
    """Two persons in 额敏 (one with ID number, phone and e-mail) and one in 托里."""
    zhou = make_person(
        name="周红",
        township_code=EMIN_TOWN,
        id_number=ID_NUMBER,
        phone=PHONE,
        email=EMAIL,
        worker_type="02",
        ethnicity="01",
    )
    ma = make_person(name="马建国", township_code=EMIN_OTHER_TOWN, worker_type="01")
    toli = make_person(name="周丽", township_code=TOLI_TOWN, phone="19909917702")
    return {"zhou": zhou, "ma": ma, "toli": toli}


# --- list ------------------------------------------------------------------------------------


def test_list_shows_exactly_the_persons_in_scope(people, county_viewer, login):
    # given the 额敏 viewer
    client = login(county_viewer)
    # when they open the list
    response = client.get("/people/")
    # then they see the two 额敏 persons and not the 托里 one
    assert response.status_code == 200
    rows = list(response.context["table"].page.object_list)
    assert sorted(r.record.pk for r in rows) == sorted([people["zhou"].pk, people["ma"].pk])
    html = table_part(body(response))
    assert "周红" in html and "马建国" in html and "周丽" not in html


def test_list_shows_code_names_and_masked_phones(people, county_admin, login):
    html = table_part(body(login(county_admin).get("/people/")))
    assert "农业技术人员" in html  # worker type 02
    assert "199****7701" in html
    assert PHONE not in html


def test_list_filters_by_county_township_and_worker_type(people, prefecture_admin, login):
    client = login(prefecture_admin)
    by_county = client.get("/people/?county=654224").context["table"]
    assert [r.record.pk for r in by_county.page.object_list] == [people["toli"].pk]
    by_town = client.get(f"/people/?township={EMIN_OTHER_TOWN}").context["table"]
    assert [r.record.pk for r in by_town.page.object_list] == [people["ma"].pk]
    by_type = client.get("/people/?worker_type=02").context["table"]
    assert [r.record.pk for r in by_type.page.object_list] == [people["zhou"].pk]


def test_list_filter_by_stale_and_age(people, prefecture_admin, login):
    # given one record confirmed today
    Person.objects.filter(pk=people["ma"].pk).update(last_confirmed_on=timezone.localdate())
    client = login(prefecture_admin)
    fresh = client.get("/people/?stale=no").context["table"]
    assert [r.record.pk for r in fresh.page.object_list] == [people["ma"].pk]
    stale = client.get("/people/?stale=yes").context["table"]
    assert {r.record.pk for r in stale.page.object_list} == {people["zhou"].pk, people["toli"].pk}
    # the ID number says born 1985-03-14
    years = age_on(dt.date(1985, 3, 14), timezone.localdate())
    band = next(
        b for b, low in (("65", 65), ("55_64", 55), ("45_54", 45), ("35_44", 35)) if years >= low
    )
    age = client.get(f"/people/?age={band}").context["table"]
    assert [r.record.pk for r in age.page.object_list] == [people["zhou"].pk]


def test_list_filter_cannot_reach_outside_the_scope(people, county_admin, login):
    # when the 额敏 admin filters by the 托里 county
    response = login(county_admin).get("/people/?county=654224")
    # then nothing of 托里 appears
    assert list(response.context["table"].page.object_list) == []


def test_list_pagination_does_not_count_rows(people, county_admin, login):
    from django_tables2.paginators import LazyPaginator

    response = login(county_admin).get("/people/")
    assert isinstance(response.context["table"].paginator, LazyPaginator)
    assert response.context["table"].paginator.per_page == 50


def test_list_is_sortable(people, county_admin, login):
    response = login(county_admin).get("/people/?sort=name")
    names = [r.record.name for r in response.context["table"].page.object_list]
    assert names == sorted(names, key=lambda n: Person.objects.get(name=n).name_key)


def test_list_rows_render_as_the_table_columns_do(people, county_admin, login):
    # given a page with a stale record, an employer as free text, a record without township
    make_person(name="刘洋", township_code=EMIN_TOWN, employer_text="额敏县第一中学", title="")
    response = login(county_admin).get("/people/")
    table = response.context["table"]
    # when the rows are rendered the fast way (PersonTable.page_rows)
    fast = [[str(cell) for cell in row] for row in table.page_rows()]
    # then each cell is what django-tables2 would have rendered for that column
    slow = [[str(cell) for _column, cell in row.items()] for row in table.page.object_list]
    assert fast == slow
    assert len(fast) == 3


# --- the search box ----------------------------------------------------------------------------


def test_two_character_search_finds_the_person(people, county_admin, login):
    client = login(county_admin)
    # when the admin types a two-character name into the search box
    response = client.post("/people/search/", {"q": "周红"})
    # then the search goes to the list as ?q=, which finds exactly 周红 (not 周丽 of 托里)
    assert response.status_code == 302
    assert response["Location"].startswith("/people/?q=")
    listing = client.get(response["Location"])
    assert [r.record.pk for r in listing.context["table"].page.object_list] == [people["zhou"].pk]


def test_pinyin_search_finds_the_person(people, county_admin, login):
    listing = login(county_admin).get("/people/?q=majianguo")
    assert [r.record.pk for r in listing.context["table"].page.object_list] == [people["ma"].pk]


def test_search_box_keeps_the_filters(people, county_admin, login):
    response = login(county_admin).post("/people/search/", {"q": "周", "worker_type": "02"})
    assert response.status_code == 302
    assert "worker_type=02" in response["Location"]


def test_id_number_search_posts_and_answers_masked(people, county_admin, login):
    client = login(county_admin)
    # when the admin searches by ID number through the box
    response = client.post("/people/search/", {"q": ID_NUMBER})
    # then the person is found in the answer itself, not through a redirect
    assert response.status_code == 200
    html = body(response)
    assert [r.record.pk for r in response.context["table"].rows] == [people["zhou"].pk]
    assert "周红" in html
    # and the answer holds no unmasked ID number or phone, not even in the search box
    assert ID_NUMBER not in html
    assert PHONE not in html
    assert ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[14:] in html


def test_phone_search_finds_the_person_in_scope_only(people, county_admin, login):
    client = login(county_admin)
    found = client.post("/people/search/", {"q": "199 0991 7701"})
    assert [r.record.pk for r in found.context["table"].rows] == [people["zhou"].pk]
    # the 托里 phone is outside the 额敏 admin's scope
    other = client.post("/people/search/", {"q": "19909917702"})
    assert list(other.context["table"].rows) == []
    assert "19909917702" not in body(other)


def test_id_number_in_the_query_string_is_not_looked_up(people, county_admin, login):
    from kexie.people import search

    calls = []
    original = search.search_q

    def spy(routed):
        calls.append(routed.kind)
        return original(routed)

    client = login(county_admin)
    # when someone puts an ID number into the URL
    search.search_q = spy
    try:
        with translation.override("en"):
            response = client.get(f"/people/?q={ID_NUMBER}", HTTP_ACCEPT_LANGUAGE="en")
    finally:
        search.search_q = original
    # then no look-up is made and the list is shown again without the number, with a hint
    assert calls == []
    assert response.status_code == 302
    assert response["Location"] == "/people/"
    with translation.override("en"):
        html = body(client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en"))
    assert ID_NUMBER not in html
    assert "can only be searched with the search box" in html


def test_id_number_in_the_export_query_string_is_not_looked_up(people, county_admin):
    from kexie.people.exporters import person_export_queryset

    # the export shares the FilterSet: a sensitive q there finds nothing and is not recorded
    queryset, applied = person_export_queryset(user=county_admin, params={"q": ID_NUMBER})
    assert list(queryset) == []
    assert ID_NUMBER not in str(applied)


def test_part_of_an_id_number_does_not_travel_in_a_url_either(people, county_admin, login):
    client = login(county_admin)
    # when the admin types 17 digits of an ID number (no check character)
    response = client.post("/people/search/", {"q": ID_NUMBER[:17]})
    # then the answer is rendered directly, without the digits, instead of a redirect
    assert response.status_code == 200
    assert ID_NUMBER[:17] not in body(response)
    # and the list refuses such a query string
    listing = client.get(f"/people/?q={ID_NUMBER[:10]}")
    assert (listing.status_code, listing["Location"]) == (302, "/people/")


def test_search_page_refuses_get(tree, county_admin, login):
    assert login(county_admin).get("/people/search/?q=x").status_code == 405


# --- detail ------------------------------------------------------------------------------------


def test_detail_shows_fields_with_code_names_and_masked_values(people, county_admin, login):
    response = login(county_admin).get(f"/people/{people['zhou'].pk}/")
    assert response.status_code == 200
    html = body(response)
    assert "汉族" in html  # ethnicity 01
    assert "农业技术人员" in html
    assert "额敏镇" in html
    assert "199****7701" in html
    assert "z********@example.cn" in html
    assert ID_NUMBER not in html and PHONE not in html and EMAIL not in html
    assert 'data-testid="needs-confirmation"' in html
    assert 'data-testid="stale"' in html


def test_detail_of_a_person_outside_the_scope_is_404(people, county_admin, login):
    assert login(county_admin).get(f"/people/{people['toli'].pk}/").status_code == 404


def test_viewer_sees_no_edit_reveal_or_contact_form(people, county_viewer, login):
    html = body(login(county_viewer).get(f"/people/{people['zhou'].pk}/"))
    assert f"/people/{people['zhou'].pk}/edit/" not in html
    assert f"/people/{people['zhou'].pk}/reveal/" not in html
    assert 'data-testid="contact-form"' not in html


def test_confirm_records_today(people, county_clerk, login):
    client = login(county_clerk)
    response = client.post(f"/people/{people['zhou'].pk}/confirm/")
    assert response.status_code == 302
    people["zhou"].refresh_from_db()
    assert people["zhou"].last_confirmed_on == timezone.localdate()
    html = body(client.get(f"/people/{people['zhou'].pk}/"))
    assert 'data-testid="needs-confirmation"' not in html


def test_viewer_cannot_confirm(people, county_viewer, login):
    response = login(county_viewer).post(f"/people/{people['zhou'].pk}/confirm/")
    assert response.status_code == 403
    people["zhou"].refresh_from_db()
    assert people["zhou"].last_confirmed_on is None


def test_add_contact_with_confirmation(people, county_clerk, login):
    client = login(county_clerk)
    day = timezone.localdate() - dt.timedelta(days=2)
    response = client.post(
        f"/people/{people['zhou'].pk}/contacts/",
        {
            "on_date": day.isoformat(),
            "channel": "phone",
            "topic": "核对工作单位",
            "confirmed": "on",
        },
    )
    assert response.status_code == 302
    contact = PersonContact.objects.get(person=people["zhou"])
    assert (contact.channel, contact.topic, contact.contacted_by) == (
        "phone",
        "核对工作单位",
        county_clerk,
    )
    people["zhou"].refresh_from_db()
    assert people["zhou"].last_confirmed_on == day
    assert "核对工作单位" in body(client.get(f"/people/{people['zhou'].pk}/"))


def test_contact_in_the_future_is_refused_with_the_error(people, county_clerk, login):
    day = timezone.localdate() + dt.timedelta(days=3)
    response = login(county_clerk).post(
        f"/people/{people['zhou'].pk}/contacts/",
        {"on_date": day.isoformat(), "channel": "visit", "topic": "走访"},
    )
    assert response.status_code == 200
    assert set(response.context["contact_form"].errors) == {"on_date"}
    assert not PersonContact.objects.exists()


# --- reveal ------------------------------------------------------------------------------------


def test_reveal_shows_the_value_once_audited_and_not_stored(people, county_admin, login):
    client = reauthenticated(login(county_admin))
    # when the admin reveals the ID number with a reason
    response = client.post(
        f"/people/{people['zhou'].pk}/reveal/",
        {"field": "id_number", "reason": "核对身份"},
        HTTP_HX_REQUEST="true",
    )
    # then the full number is in this answer only, which must not be cached
    assert response.status_code == 200
    assert ID_NUMBER in body(response)
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.filter(event_type="pii.reveal").latest("id")
    assert (event.outcome, event.reason, event.details) == (
        "success",
        "核对身份",
        {"field": "id_number"},
    )
    assert ID_NUMBER not in str(event.details) + event.object_repr


def test_reveal_needs_a_reason(people, county_admin, login):
    client = reauthenticated(login(county_admin))
    response = client.post(f"/people/{people['zhou'].pk}/reveal/", {"field": "phone"})
    assert response.status_code == 200
    assert PHONE not in body(response)
    assert not AuditEvent.objects.filter(event_type="pii.reveal").exists()


def test_reveal_is_refused_to_a_viewer_and_the_refusal_audited(people, county_viewer, login):
    client = reauthenticated(login(county_viewer))
    response = client.post(
        f"/people/{people['zhou'].pk}/reveal/", {"field": "phone", "reason": "好奇"}
    )
    assert response.status_code == 403
    assert PHONE not in body(response)
    event = AuditEvent.objects.get(event_type="pii.reveal")
    assert (event.outcome, event.details) == ("denied", {"field": "phone"})


def test_reveal_outside_the_scope_is_404(people, county_admin, login):
    client = reauthenticated(login(county_admin))
    response = client.post(
        f"/people/{people['toli'].pk}/reveal/", {"field": "phone", "reason": "核对"}
    )
    assert response.status_code == 404


def test_reveal_without_recent_reauthentication_asks_for_the_password(people, county_admin, login):
    response = login(county_admin).post(
        f"/people/{people['zhou'].pk}/reveal/", {"field": "phone", "reason": "核对"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/?next=")
    assert not AuditEvent.objects.filter(event_type="pii.reveal").exists()


# --- create and edit ---------------------------------------------------------------------------


def test_create_through_the_page(tree, county_clerk, login):
    town = Region.objects.get(code=EMIN_TOWN)
    response = login(county_clerk).post(
        "/people/new/",
        {
            "name": "李春梅",
            "gender": "2",
            "township": town.pk,
            "worker_type": "03",
            "employer": tree.emin_school.pk,
            "phone": "19909917703",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(name="李春梅")
    assert response["Location"] == f"/people/{person.pk}/"
    assert (person.organisation, person.employer, person.phone, person.source) == (
        tree.emin_town,
        tree.emin_school,
        "19909917703",
        "staff",
    )


def test_create_form_offers_only_townships_in_scope(tree, county_clerk, login):
    form = login(county_clerk).get("/people/new/").context["form"]
    offered = {
        label for _group, options in form.fields["township"].choices[1:] for _v, label in options
    }
    assert {"额敏镇", "玉什喀拉苏镇"} <= offered
    assert "托里镇" not in offered


def test_create_reports_every_bad_field_at_once(tree, county_clerk, login):
    town = Region.objects.get(code=EMIN_TOWN)
    response = login(county_clerk).post(
        "/people/new/",
        {"name": "李春梅", "township": town.pk, "id_number": "123", "phone": "12345"},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"id_number", "phone"}
    assert not Person.objects.filter(name="李春梅").exists()


def test_create_in_a_township_outside_the_scope_is_refused(tree, county_clerk, login):
    toli = Region.objects.get(code=TOLI_TOWN)
    response = login(county_clerk).post("/people/new/", {"name": "李春梅", "township": toli.pk})
    assert response.status_code == 200
    assert "township" in response.context["form"].errors
    assert not Person.objects.filter(name="李春梅").exists()


def test_edit_form_never_prefills_sensitive_values(people, county_admin, login):
    response = login(county_admin).get(f"/people/{people['zhou'].pk}/edit/")
    html = body(response)
    assert response.status_code == 200
    assert ID_NUMBER not in html and PHONE not in html and EMAIL not in html
    assert 'value="周红"' in html


def test_edit_with_empty_sensitive_fields_keeps_them(people, county_admin, login):
    zhou = people["zhou"]
    client = login(county_admin)
    form = client.get(f"/people/{zhou.pk}/edit/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data["expertise"] = "棉花栽培"
    # when the admin saves with the ID, phone and e-mail fields left empty
    response = client.post(f"/people/{zhou.pk}/edit/", data)
    # then the expertise changed and the stored values are kept
    assert response.status_code == 302
    zhou.refresh_from_db()
    assert (zhou.expertise, zhou.id_number, zhou.phone, zhou.email) == (
        "棉花栽培",
        ID_NUMBER,
        PHONE,
        EMAIL,
    )
    event = AuditEvent.objects.filter(event_type="person.update").latest("id")
    assert event.details == {"fields": ["expertise"]}


def test_edit_that_would_move_the_person_out_of_scope_changes_nothing(people, county_admin, login):
    zhou = people["zhou"]
    client = login(county_admin)
    form = client.get(f"/people/{zhou.pk}/edit/").context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data["township"] = Region.objects.get(code=TOLI_TOWN).pk
    data["expertise"] = "改了"
    # when the 额敏 admin moves the record to a 托里 township
    response = client.post(f"/people/{zhou.pk}/edit/", data)
    # then the form refuses and nothing changed
    assert response.status_code == 200
    assert "township" in response.context["form"].errors
    zhou.refresh_from_db()
    assert (zhou.organisation_id, zhou.township.code, zhou.expertise) == (
        people["zhou"].organisation_id,
        EMIN_TOWN,
        "",
    )


def test_edit_by_a_viewer_is_403_and_outside_the_scope_404(
    people, county_viewer, outsider, login, client
):
    assert login(county_viewer).get(f"/people/{people['zhou'].pk}/edit/").status_code == 403
    client.logout()
    response = login(outsider).post(f"/people/{people['zhou'].pk}/edit/", {"name": "改名"})
    assert response.status_code == 404
    people["zhou"].refresh_from_db()
    assert people["zhou"].name == "周红"


# --- caching and leaks -------------------------------------------------------------------------


def test_pages_with_personal_data_are_not_stored(people, county_admin, login):
    client = login(county_admin)
    for url in ("/people/", f"/people/{people['zhou'].pk}/", f"/people/{people['zhou'].pk}/edit/"):
        assert client.get(url)["Cache-Control"] == "no-store"
    assert client.post("/people/search/", {"q": ID_NUMBER})["Cache-Control"] == "no-store"


UNMASKED_ID_RE = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
UNMASKED_PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def test_no_page_shows_a_full_id_number_or_phone(people, county_admin, login):
    # given every page of the registry for one person, as the admin who may reveal
    client = reauthenticated(login(county_admin))
    zhou = people["zhou"].pk
    pages = [
        client.get("/people/"),
        client.get("/people/?q=周红"),
        client.get(f"/people/?q={ID_NUMBER}"),
        client.get(f"/people/?q={PHONE}"),
        client.get(f"/people/{zhou}/"),
        client.get(f"/people/{zhou}/edit/"),
        client.get("/people/new/"),
        client.post("/people/search/", {"q": ID_NUMBER}),
        client.post("/people/search/", {"q": PHONE}),
        client.post(f"/people/{zhou}/reveal/", {"field": "phone"}),  # no reason
        client.post(f"/people/{zhou}/contacts/", {"topic": ""}),
    ]
    for response in pages:
        html = body(response)
        # then none of them holds the full ID number or phone
        assert ID_NUMBER not in html
        assert PHONE not in html
        assert not UNMASKED_ID_RE.search(html)
        assert not UNMASKED_PHONE_RE.search(html)


def test_navigation_offers_the_registry(tree, county_viewer, no_role, login, client):
    with translation.override("en"):
        html = body(login(county_viewer).get("/"))
        assert 'href="/people/"' in html
        client.logout()
        html = body(login(no_role).get("/"))
        assert 'href="/people/"' not in html


def test_id_number_search_is_audited_without_the_number(people, county_admin, login):
    from kexie.core.models import AuditEvent

    client = login(county_admin)
    # when the county admin looks a person up by ID number
    client.post("/people/search/", {"q": ID_NUMBER})
    # then one event records the kind of look-up and the count, never the number
    event = AuditEvent.objects.filter(event_type="person.search_sensitive").get()
    assert event.details == {"kind": "id", "found": 1}
    assert ID_NUMBER not in str(event.details) + event.object_repr + event.reason
