"""Persona matrix of the review queue and the data-subject request pages (AC-02)."""

from __future__ import annotations

import pytest

from kexie.people.choices import PersonSource
from kexie.people.models import Person
from kexie.people.registration import subject_request_create
from kexie.people.tests.factories import make_person
from kexie.portal.tests.test_access import PERSONAS, L

# fmt: off
MATRIX: dict[str, tuple] = {
    #                        anon no   view clerk rev  cadm out  padm sys  sec  aud
    "review_queue":         (L,   403, 403, 403, 200, 200, 200, 200, 403, 403, 403),
    "review_queue_level_2": (L,   403, 403, 403, 403, 403, 403, 200, 403, 403, 403),
    "review_decide_get":    (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    "request_list":         (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "request_list_all":     (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "request_create":       (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "request_emin":         (L,   403, 403, 200, 403, 200, 404, 200, 200, 403, 403),
    "request_toli":         (L,   403, 403, 404, 403, 404, 200, 200, 200, 403, 403),
}
# fmt: on


def _urls(tree) -> dict[str, str]:
    emin = make_person(name="古丽娜", township_code="654221100000", phone="19909918001")
    toli = make_person(name="巴特尔", township_code="654224100000", phone="19909918002")
    Person.objects.filter(pk__in=[emin.pk, toli.pk]).update(source=PersonSource.SELF)
    for n in range(3):
        make_person(name=f"待审{n}", township_code="654221100000", phone=f"1990991810{n}")
    emin_request = subject_request_create(
        actor=None, person=emin, kind="correction", details="改单位"
    )
    toli_request = subject_request_create(actor=None, person=toli, kind="deletion")
    return {
        "review_queue": "/people/review/",
        "review_queue_level_2": "/people/review/?level=2",
        "review_decide_get": f"/people/review/{emin.pk}/decide/",
        "request_list": "/people/requests/",
        "request_list_all": "/people/requests/?all=1",
        "request_create": "/people/requests/new/",
        "request_emin": f"/people/requests/{emin_request.pk}/",
        "request_toli": f"/people/requests/{toli_request.pk}/",
    }


@pytest.mark.parametrize("persona_index", range(len(PERSONAS)), ids=PERSONAS)
def test_persona_matrix(
    persona_index, request, client, tree, county_admin, django_assert_max_num_queries
):
    persona = PERSONAS[persona_index]
    urls = _urls(tree)
    if persona != "anonymous":
        user = county_admin if persona == "county_admin" else request.getfixturevalue(persona)
        client.force_login(user)
    failures = []
    for name, expected_row in MATRIX.items():
        expected = expected_row[persona_index]
        with django_assert_max_num_queries(25):
            response = client.get(urls[name])
        if expected == L:
            ok = response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append((name, expected, response.status_code))
    assert failures == []


def test_public_pages_answer_anonymous_users(client, tree):
    for url in ("/register/", "/register/status/", "/register/me/"):
        assert client.get(url).status_code == 200
    for url in ("/register/status/record/", "/register/me/record/", "/register/me/download/"):
        assert client.get(url).status_code == 302
