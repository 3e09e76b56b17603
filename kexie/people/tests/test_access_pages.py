"""Persona matrix of the staff pages of the registry: list, search, detail, create, edit and
the actions on one record (AC-02, STYLE.md 16)."""

from __future__ import annotations

import time

import pytest

from kexie.accounts.reauth import SESSION_KEY
from kexie.people.tests.factories import make_person, synthetic_id
from kexie.portal.tests.test_access import PERSONAS, L

ID_NUMBER = synthetic_id()

# GET: url id -> expected status per persona, in the order of PERSONAS.
# fmt: off
MATRIX: dict[str, tuple] = {
    #                        anon no   view clerk rev  cadm out  padm sys  sec  aud
    "list":                 (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "list_filtered":        (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "list_sensitive_q":     (L,   403, 302, 302, 302, 302, 302, 302, 302, 302, 403),
    "search_get":           (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),  # POST
    "create":               (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "detail_emin":          (L,   404, 200, 200, 200, 200, 404, 200, 200, 200, 404),
    "detail_toli":          (L,   404, 404, 404, 404, 404, 200, 200, 200, 200, 404),
    "edit_emin":            (L,   404, 403, 200, 403, 200, 404, 200, 200, 403, 404),
    "edit_toli":            (L,   404, 404, 404, 404, 404, 200, 200, 200, 403, 404),
    "reveal_get":           (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),  # POST
    "confirm_get":          (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),  # POST
    "contacts_get":         (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),  # POST
}

# POST: url id -> expected status per persona (the persona has just re-authenticated).
POST_MATRIX: dict[str, tuple] = {
    #                        anon no   view clerk rev  cadm out  padm sys  sec  aud
    "search_id":            (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "search_name":          (L,   403, 302, 302, 302, 302, 302, 302, 302, 302, 403),
    "reveal_emin":          (L,   404, 403, 403, 200, 200, 404, 200, 403, 403, 404),
    "reveal_toli":          (L,   404, 404, 404, 404, 404, 200, 200, 403, 403, 404),
    "confirm_emin":         (L,   404, 403, 302, 403, 302, 404, 302, 302, 403, 404),
    "contact_emin":         (L,   404, 403, 302, 403, 302, 404, 302, 302, 403, 404),
}
# fmt: on


def _persons():
    emin = make_person(
        name="周红", township_code="654221100000", id_number=ID_NUMBER, phone="19909918801"
    )
    toli = make_person(name="周丽", township_code="654224100000", phone="19909918802")
    return emin, toli


def _urls(emin, toli) -> dict[str, str]:
    return {
        "list": "/people/",
        "list_filtered": (
            "/people/?q=周&county=654221&township=654221100000&worker_type=02&discipline=110"
            "&title_level=senior&ethnicity=01&age=35_44&review_status=pending&source=staff"
            "&stale=yes&sort=-township"
        ),
        "list_sensitive_q": f"/people/?q={ID_NUMBER}",
        "search_get": "/people/search/",
        "create": "/people/new/",
        "detail_emin": f"/people/{emin.pk}/",
        "detail_toli": f"/people/{toli.pk}/",
        "edit_emin": f"/people/{emin.pk}/edit/",
        "edit_toli": f"/people/{toli.pk}/edit/",
        "reveal_get": f"/people/{emin.pk}/reveal/",
        "confirm_get": f"/people/{emin.pk}/confirm/",
        "contacts_get": f"/people/{emin.pk}/contacts/",
    }


def _posts(emin, toli) -> dict[str, tuple[str, dict]]:
    return {
        "search_id": ("/people/search/", {"q": ID_NUMBER}),
        "search_name": ("/people/search/", {"q": "周红"}),
        "reveal_emin": (f"/people/{emin.pk}/reveal/", {"field": "phone", "reason": "核对"}),
        "reveal_toli": (f"/people/{toli.pk}/reveal/", {"field": "phone", "reason": "核对"}),
        "confirm_emin": (f"/people/{emin.pk}/confirm/", {}),
        "contact_emin": (
            f"/people/{emin.pk}/contacts/",
            {"on_date": "2026-01-05", "channel": "visit", "topic": "走访"},
        ),
    }


def _login(request, client, persona, county_admin):
    if persona == "anonymous":
        return
    user = county_admin if persona == "county_admin" else request.getfixturevalue(persona)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = int(time.time())
    session.save()


def _ok(response, expected) -> bool:
    if expected == L:
        return response.status_code == 302 and "/accounts/login/" in response["Location"]
    return response.status_code == expected


@pytest.mark.parametrize("persona_index", range(len(PERSONAS)), ids=PERSONAS)
def test_persona_matrix(
    persona_index, request, client, tree, county_admin, django_assert_max_num_queries
):
    persona = PERSONAS[persona_index]
    # given an 额敏 and a 托里 person, and the persona logged in
    urls = _urls(*_persons())
    _login(request, client, persona, county_admin)
    failures = []
    for name, expected_row in MATRIX.items():
        expected = expected_row[persona_index]
        # when the persona opens the page (bounded number of queries: no N+1)
        with django_assert_max_num_queries(30):
            response = client.get(urls[name])
        # then the answer is exactly the expected one
        if not _ok(response, expected):
            failures.append((name, expected, response.status_code))
    assert failures == []


@pytest.mark.parametrize("persona_index", range(len(PERSONAS)), ids=PERSONAS)
def test_persona_matrix_of_the_actions(
    persona_index, request, client, tree, county_admin, django_assert_max_num_queries
):
    persona = PERSONAS[persona_index]
    posts = _posts(*_persons())
    _login(request, client, persona, county_admin)
    failures = []
    for name, expected_row in POST_MATRIX.items():
        expected = expected_row[persona_index]
        url, data = posts[name]
        with django_assert_max_num_queries(30):
            response = client.post(url, data)
        if not _ok(response, expected):
            failures.append((name, expected, response.status_code))
    assert failures == []


def test_list_query_count_does_not_grow_with_rows(
    tree, prefecture_admin, client, django_assert_max_num_queries
):
    # given 60 persons with employers and townships
    for n in range(60):
        make_person(
            name=f"测试{n}",
            township_code="654221100000" if n % 2 else "654224100000",
            employer=tree.emin_school if n % 3 else None,
            employer_text="" if n % 3 else "额敏县医院",
            phone=f"199099190{n:02d}",
            worker_type="01",
            gender="1",
        )
    client.force_login(prefecture_admin)
    # when the prefecture admin opens the list
    with django_assert_max_num_queries(20):
        response = client.get("/people/")
    # then one page of 50 is shown with a bounded number of queries
    assert response.status_code == 200
    assert len(response.context["table"].page.object_list) == 50
