"""Persona matrix of the duplicate, merge, import and export pages of the registry (AC-02)."""

from __future__ import annotations

import pytest

from kexie.core.models import ImportLog
from kexie.people.dedup import duplicates_find_for, person_merge
from kexie.people.models import DuplicateCandidate, UnmaskedExportRequest
from kexie.people.tests.factories import make_person
from kexie.portal.tests.test_access import PERSONAS, L

# fmt: off
MATRIX: dict[str, tuple] = {
    #                        anon no   view clerk rev  cadm out  padm sys  sec  aud
    "duplicate_list":       (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "duplicate_emin":       (L,   403, 403, 200, 403, 200, 404, 200, 200, 403, 403),
    "duplicate_toli":       (L,   403, 403, 404, 403, 404, 200, 200, 200, 403, 403),
    "duplicate_merge_get":  (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    "duplicate_dismiss_get": (L,  405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    "merge_emin":           (L,   403, 403, 200, 403, 200, 404, 200, 200, 403, 403),
    "merge_undo_get":       (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    "import":               (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "import_template":      (L,   403, 403, 200, 403, 200, 200, 200, 200, 403, 403),
    "import_log_own":       (L,   403, 403, 404, 403, 200, 404, 404, 404, 403, 403),
    "export":               (L,   403, 403, 403, 200, 200, 200, 200, 200, 403, 403),
    "export_request":       (L,   403, 403, 403, 200, 200, 200, 200, 403, 403, 403),
    "export_request_list":  (L,   403, 403, 403, 200, 200, 200, 200, 403, 403, 403),
    "export_decide_get":    (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    "export_download_get":  (L,   405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
}
# fmt: on


def _urls(tree, county_admin) -> dict[str, str]:
    a = make_person(name="王芳", township_code="654221100000", phone="19909910201")
    b = make_person(name="王芳", township_code="654221100000", phone="19909910201")
    c = make_person(name="李强", township_code="654224100000", phone="19909910202")
    d = make_person(name="李强", township_code="654224100000", phone="19909910202")
    e = make_person(name="赵六", township_code="654221100000", phone="19909910203")
    f = make_person(name="赵六", township_code="654221100000", phone="19909910203")
    for person in (b, d):
        duplicates_find_for(person)
    emin = DuplicateCandidate.objects.get(first=a, second=b)
    toli = DuplicateCandidate.objects.get(first=c, second=d)
    merge = person_merge(actor=None, kept=e, merged=f)
    log = ImportLog.objects.create(
        importer="people.person",
        created_by=county_admin,
        filename="p.xlsx",
        sha256="0" * 64,
        status="valid",
        row_count=1,
        rows=[],
    )
    request = UnmaskedExportRequest.objects.create(
        requested_by=county_admin, organisation=tree.emin, reason="统计"
    )
    return {
        "duplicate_list": "/people/duplicates/",
        "duplicate_emin": f"/people/duplicates/{emin.pk}/",
        "duplicate_toli": f"/people/duplicates/{toli.pk}/",
        "duplicate_merge_get": f"/people/duplicates/{emin.pk}/merge/",
        "duplicate_dismiss_get": f"/people/duplicates/{emin.pk}/dismiss/",
        "merge_emin": f"/people/merges/{merge.pk}/",
        "merge_undo_get": f"/people/merges/{merge.pk}/undo/",
        "import": "/people/import/",
        "import_template": "/people/import/template.xlsx",
        "import_log_own": f"/people/import/{log.pk}/",
        "export": "/people/export.xlsx",
        "export_request": "/people/export/unmasked/new/",
        "export_request_list": "/people/export/unmasked/",
        "export_decide_get": f"/people/export/unmasked/{request.pk}/decide/",
        "export_download_get": f"/people/export/unmasked/{request.pk}/download/",
    }


@pytest.mark.parametrize("persona_index", range(len(PERSONAS)), ids=PERSONAS)
def test_persona_matrix(
    persona_index, request, client, tree, county_admin, django_assert_max_num_queries
):
    persona = PERSONAS[persona_index]
    urls = _urls(tree, county_admin)
    if persona != "anonymous":
        user = county_admin if persona == "county_admin" else request.getfixturevalue(persona)
        client.force_login(user)
    failures = []
    for name, expected_row in MATRIX.items():
        expected = expected_row[persona_index]
        with django_assert_max_num_queries(30):
            response = client.get(urls[name])
        if expected == L:
            ok = response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append((name, expected, response.status_code))
    assert failures == []
