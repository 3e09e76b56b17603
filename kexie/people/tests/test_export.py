"""Export of persons: masked by default; unmasked only with a second person's approval (AC-09)."""

from __future__ import annotations

import io

import openpyxl
import pytest

from kexie.core.models import AuditEvent
from kexie.people.models import UnmaskedExportRequest
from kexie.people.tests.factories import make_person

pytestmark = pytest.mark.django_db


def _cells(content: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return " ".join(str(c.value) for row in wb.worksheets[0].iter_rows() for c in row)


def test_export_is_masked_by_default(tree, county_admin, login):
    person = make_person(name="王芳", township_code="654221100000", with_id=True)
    make_person(name="托里人", township_code="654224100000", with_id=True)
    response = login(county_admin).get("/people/export.xlsx")
    assert response.status_code == 200
    text = _cells(response.content)
    assert "王芳" in text and "托里人" not in text
    assert person.id_number not in text and person.phone not in text
    assert person.id_number[:4] + "*" * 10 + person.id_number[14:] in text
    assert AuditEvent.objects.filter(event_type="export.download").count() == 1


def test_export_filters(tree, county_admin, login):
    make_person(name="王芳", township_code="654221100000")
    response = login(county_admin).get("/people/export.xlsx?review_status=verified")
    assert "王芳" not in _cells(response.content)


def test_unmasked_export_needs_a_second_person(tree, county_admin, prefecture_admin, client):
    person = make_person(name="王芳", township_code="654221100000", with_id=True)
    client.force_login(county_admin)
    response = client.post(
        "/people/export/unmasked/new/", {"organisation": tree.emin.pk, "reason": "上报统计"}
    )
    assert response.status_code == 302
    request = UnmaskedExportRequest.objects.get()
    # the requester cannot approve their own request
    assert (
        client.post(
            f"/people/export/unmasked/{request.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 403
    )
    # nor download before approval
    client.post(f"/people/export/unmasked/{request.pk}/download/")
    request.refresh_from_db()
    assert request.status == "pending"
    client.force_login(prefecture_admin)
    client.post(f"/people/export/unmasked/{request.pk}/decide/", {"decision": "approve"})
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == prefecture_admin
    # someone else than the requester cannot download it
    assert client.post(f"/people/export/unmasked/{request.pk}/download/").status_code == 403
    client.force_login(county_admin)
    response = client.post(f"/people/export/unmasked/{request.pk}/download/")
    assert response.status_code == 200
    assert person.id_number in _cells(response.content)
    request.refresh_from_db()
    assert request.status == "used"
    event = AuditEvent.objects.filter(event_type="export.download").latest("id")
    assert event.details["unmasked"] is True
    assert AuditEvent.objects.filter(event_type="pii.export").count() == 1
    # only once
    response = client.post(f"/people/export/unmasked/{request.pk}/download/")
    assert response.status_code == 302


def test_refused_request_cannot_be_downloaded(tree, county_admin, prefecture_admin, client):
    client.force_login(county_admin)
    client.post("/people/export/unmasked/new/", {"organisation": tree.emin.pk, "reason": "x"})
    request = UnmaskedExportRequest.objects.get()
    client.force_login(prefecture_admin)
    client.post(f"/people/export/unmasked/{request.pk}/decide/", {"decision": "refuse"})
    client.force_login(county_admin)
    assert client.post(f"/people/export/unmasked/{request.pk}/download/").status_code == 302
    request.refresh_from_db()
    assert request.status == "refused"
