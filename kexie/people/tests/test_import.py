"""Import of persons: every kind of bad row, template round-trip, idempotence, partial import,
the command line."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from kexie.core.imports import import_check, import_commit, import_undo, import_validate
from kexie.core.models import AuditEvent
from kexie.people.importers import PersonImporter
from kexie.people.models import Person
from kexie.people.tests.factories import make_person, synthetic_id

pytestmark = pytest.mark.django_db

HEAD = ["姓名", "性别", "民族", "身份证号", "手机号", "学历", "工作单位", "所在乡镇", "出生日期"]


def _xlsx(rows, header=HEAD) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _good(n=1, **over):
    ident = synthetic_id()
    row = ["张伟", "男", "汉族", ident, f"1990991{n:04d}", "本科", "额敏县第一中学", "额敏镇", ""]
    return row


def _check(content, user=None, importer=None):
    importer = importer or PersonImporter()
    with translation.override("en"):
        return import_check(user=user, importer=importer, fileobj=io.BytesIO(content))


def _messages(report):
    return [e["message"] for e in report.errors]


def test_good_rows_import_and_link_codes(tree, county_admin):
    report = _check(_xlsx([_good(1), _good(2)]), user=county_admin)
    assert report.errors == []
    upload = SimpleUploadedFile("p.xlsx", _xlsx([_good(1), _good(2)]))
    log = import_validate(user=county_admin, importer=PersonImporter(), upload=upload)
    log = import_commit(user=county_admin, log=log, background=False)
    assert log.status == "committed"
    people = list(Person.objects.order_by("id"))
    assert len(people) == 2
    p = people[0]
    assert p.gender == "1" and p.ethnicity == "01" and p.education == "21"
    assert p.employer_id == tree.emin_school.pk and p.organisation_id == tree.emin_town.pk
    assert p.source == "import" and p.birth_date == dt.date(1985, 3, 14)
    assert AuditEvent.objects.filter(event_type="import.commit").count() == 1
    # undo removes them
    import_undo(user=county_admin, log=log)
    assert not Person.objects.exists()


def test_bad_checksum(tree):
    row = _good()
    row[3] = row[3][:17] + ("0" if row[3][17] != "0" else "1")
    report = _check(_xlsx([row]))
    assert any("check character" in m for m in _messages(report))


def test_impossible_date(tree):
    row = _good()
    row[3] = ""
    row[8] = "1985-02-30"
    report = _check(_xlsx([row]))
    assert any("not a real date" in m for m in _messages(report))


@pytest.mark.parametrize("text", ["1985-03-14", "1985/3/14", "19850314", "1985年3月14日"])
def test_text_dates_understood(tree, county_admin, text):
    row = _good()
    row[3] = ""
    row[8] = text
    report = _check(_xlsx([row]), user=county_admin)
    assert report.errors == []
    assert report.rows[0]["birth_date"] == "1985-03-14"


def test_datetime_cell_understood(tree, county_admin):
    row = _good()
    row[3] = ""
    row[8] = dt.datetime(1985, 3, 14)
    report = _check(_xlsx([row]), user=county_admin)
    assert report.rows[0]["birth_date"] == "1985-03-14"


def test_unknown_code(tree):
    row = _good()
    row[2] = "火星族"
    report = _check(_xlsx([row]))
    assert any("Unknown value 火星族" in m for m in _messages(report))


def test_code_given_as_code_accepted(tree, county_admin):
    row = _good()
    row[1], row[2], row[5] = "1", "01", "21"
    assert _check(_xlsx([row]), user=county_admin).errors == []


def test_duplicate_within_file(tree):
    row = _good(1)
    other = _good(2)
    other[3] = row[3]
    third = _good(1)
    report = _check(_xlsx([row, other, third]))
    rows = {e["row"] for e in report.errors if "already appears" in e["message"]}
    assert rows == {3, 4}


def test_duplicate_of_existing_person(tree, county_admin):
    row = _good()
    make_person(name="李四", township_code="654221100000", id_number=row[3])
    report = _check(_xlsx([row]), user=county_admin)
    assert any("already registered" in m for m in _messages(report))


def test_row_outside_scope(tree, county_admin):
    row = _good()
    row[7] = "托里镇"
    report = _check(_xlsx([row]), user=county_admin)
    assert any("outside your scope" in m for m in _messages(report))


def test_full_width_and_traditional_normalised(tree, county_admin):
    row = _good()
    row[0] = "張偉"
    row[4] = "１９９０９９１００９９"
    report = _check(_xlsx([row]), user=county_admin)
    assert report.errors == []
    assert report.rows[0]["name"] == "张伟" and report.rows[0]["phone"] == "19909910099"


def test_report_masks_personal_data(tree, county_admin):
    row = _good()
    row[2] = "火星族"
    upload = SimpleUploadedFile("p.xlsx", _xlsx([row, _good(2)]))
    log = import_validate(user=county_admin, importer=PersonImporter(), upload=upload)
    text = str(log.preview) + str(log.errors)
    assert row[3] not in text and "19909910002" not in text


def test_template_round_trip(tree, county_admin):
    template = PersonImporter().template_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(template))
    header = [c.value for c in wb.worksheets[0][1]]
    assert "姓名" in header or "Full name" in header
    ws = wb.worksheets[0]
    ws.append(["赵六"] + [""] * (len(header) - 1))
    buffer = io.BytesIO()
    wb.save(buffer)
    report = _check(buffer.getvalue(), user=county_admin)
    assert report.errors == [] and report.row_count == 1


def test_reimport_changes_nothing(tree, county_admin):
    content = _xlsx([_good(1), _good(2)])
    for expected in ({"create": 2}, {"unchanged": 2}):
        upload = SimpleUploadedFile("p.xlsx", content)
        log = import_validate(user=county_admin, importer=PersonImporter(), upload=upload)
        assert log.status == "valid", log.errors
        log = import_commit(user=county_admin, log=log, background=False)
        result = log.summary["result"]
        assert {k: v for k, v in result.items() if v and k in ("create", "unchanged")} == expected
    assert Person.objects.count() == 2


def test_partial_import_writes_only_valid_rows(tree, county_admin, login):
    bad = _good(3)
    bad[2] = "火星族"
    upload = SimpleUploadedFile("p.xlsx", _xlsx([_good(1), bad, _good(2)]))
    log = import_validate(user=county_admin, importer=PersonImporter(), upload=upload)
    assert log.status == "invalid"
    client = login(county_admin)
    html = client.get(f"/people/import/{log.pk}/").content.decode()
    assert 'data-testid="import-partial"' in html
    # without the choice nothing is written
    client.post(f"/people/import/{log.pk}/commit/")
    assert not Person.objects.exists()
    client.post(f"/people/import/{log.pk}/commit/", {"partial": "1"})
    log.refresh_from_db()
    assert log.status == "committed"
    assert Person.objects.count() == 2
    event = AuditEvent.objects.filter(event_type="import.commit").get()
    assert event.details["partial"] is True


def test_cli_exit_codes(tree, tmp_path):
    good = tmp_path / "good.xlsx"
    good.write_bytes(_xlsx([_good(1)]))
    bad_row = _good(2)
    bad_row[2] = "火星族"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_xlsx([bad_row, _good(3)]))
    out = io.StringIO()
    call_command("import_people", str(good), "--org", "KX654221", stdout=out)
    assert not Person.objects.exists()
    call_command("import_people", str(good), "--org", "KX654221", "--commit", stdout=out)
    assert Person.objects.count() == 1
    with pytest.raises(CommandError):
        call_command("import_people", str(bad), "--org", "KX654221", "--commit", stdout=out)
    assert Person.objects.count() == 1
    with pytest.raises(CommandError):
        call_command(
            "import_people", str(bad), "--org", "KX654221", "--commit", "--valid-rows", stdout=out
        )
    assert Person.objects.count() == 2
    # rows outside --org's subtree are bad rows
    toli = _good(4)
    toli[7] = "托里镇"
    outside = tmp_path / "outside.xlsx"
    outside.write_bytes(_xlsx([toli]))
    with pytest.raises(CommandError):
        call_command("import_people", str(outside), "--org", "KX654221", stdout=out)
    template = tmp_path / "t.xlsx"
    call_command("import_people", "--template", str(template), stdout=out)
    assert template.stat().st_size > 0
