"""Persona matrix of the registration target and progress pages (AC-02)."""

from __future__ import annotations

import pytest

from kexie.portal.tests.test_access import PERSONAS, L

# fmt: off
MATRIX: dict[str, tuple] = {
    #                        anon no   view clerk rev  cadm out  padm sys  sec  aud
    "target_list":          (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "target_list_emin":     (L,   403, 200, 200, 200, 200, 404, 200, 200, 200, 403),
    "progress":             (L,   403, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "progress_emin":        (L,   403, 200, 200, 200, 200, 404, 200, 200, 200, 403),
    "progress_toli":        (L,   403, 404, 404, 404, 404, 200, 200, 200, 200, 403),
    "target_edit_emin":     (L,   403, 403, 403, 403, 403, 404, 200, 403, 403, 403),
    "target_edit_toli":     (L,   403, 404, 404, 404, 404, 403, 200, 403, 403, 403),
    "target_edit_school":   (L,   403, 404, 404, 404, 404, 404, 404, 404, 404, 403),
}
# fmt: on


def _urls(tree) -> dict[str, str]:
    return {
        "target_list": "/people/targets/?year=2026",
        "target_list_emin": f"/people/targets/?county={tree.emin.pk}",
        "progress": "/people/targets/progress/",
        "progress_emin": f"/people/targets/progress/?county={tree.emin.pk}&year=2025",
        "progress_toli": f"/people/targets/progress/?county={tree.toli.pk}",
        "target_edit_emin": f"/people/targets/{tree.emin.pk}/",
        "target_edit_toli": f"/people/targets/{tree.toli.pk}/?year=2027",
        "target_edit_school": f"/people/targets/{tree.emin_school.pk}/",
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
        # bounded number of queries: no N+1 over counties or persons
        with django_assert_max_num_queries(25):
            response = client.get(urls[name])
        if expected == L:
            ok = response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append((name, expected, response.status_code))
    assert failures == []
