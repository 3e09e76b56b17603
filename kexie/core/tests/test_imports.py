"""The import framework itself (STYLE.md 13, XLS-03/04), with a small importer defined here."""

from __future__ import annotations

import hashlib
import io
import re

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kexie.core.choices import ImportStatus
from kexie.core.imports import (
    UNCHANGED,
    Column,
    Importer,
    format_error,
    import_commit,
    import_validate,
    importer_get,
    register_importer,
)
from kexie.core.models import AuditEvent, ImportLog

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def parse_phone(text: str) -> str:
    if not re.fullmatch(r"1[3-9]\d{9}", text):
        raise ValidationError("Enter a mobile number.")
    return text


@register_importer
class ContactImporter(Importer):
    """Writes nothing: it records what it was asked to write, which is all these tests need."""

    code = "tests.contact"
    title = _("Contacts")
    columns = (
        Column(key="name", header=_("Name"), required=True, max_length=5, aliases=("姓名",)),
        Column(key="phone", header=_("Mobile"), parser=parse_phone, aliases=("手机",)),
        Column(key="note", header=_("Note")),
    )
    unique_columns = ("phone",)
    committed: list = []

    def display_value(self, column, value):
        if column is not None and column.key == "phone" and value:
            return f"{value[:3]}****{value[-4:]}"
        return super().display_value(column, value)

    def validate_rows(self, rows, *, user, add_error):
        for row in rows:
            if row.get("note") == "same":
                row["_action"] = UNCHANGED

    def commit_rows(self, rows, *, user, progress, log):
        ContactImporter.committed.append([row["name"] for row in rows])
        return {"create": len(rows)}, {"names": [row["name"] for row in rows]}


def sheet(header, *rows, name="contacts.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=XLSX)


def check(user, upload) -> ImportLog:
    return import_validate(user=user, importer=ContactImporter(), upload=upload)


def test_importers_are_found_by_code():
    assert isinstance(importer_get("tests.contact"), ContactImporter)
    assert importer_get("orgs.organisation").code == "orgs.organisation"


def test_headers_match_by_translated_text_key_or_alias_ignoring_spacing(county_clerk):
    log = check(county_clerk, sheet([" 姓 名 ", "Mobile", "note*"], ["张三", "13800138000", "x"]))
    assert log.errors == []
    assert log.summary["present"] == ["name", "phone", "note"]
    assert log.rows == [
        {"_row": 2, "_action": "create", "name": "张三", "phone": "13800138000", "note": "x"}
    ]


def test_unknown_and_missing_required_columns_are_reported_on_the_header_row(county_clerk):
    log = check(county_clerk, sheet(["手机", "Remark"], ["13800138000", "x"]))
    assert log.status == ImportStatus.INVALID
    assert [(e["row"], e["column"], e["message"]) for e in log.errors] == [
        (1, "", "Unknown column Remark. Use the headers of the template."),
        (1, "Name", "The required column is missing."),
    ]


def test_every_bad_row_is_reported_without_a_cap_and_values_are_masked(county_clerk):
    # given 300 rows with a bad phone and one too-long name
    rows = [[f"人{n}", f"1380013{n:04d}x"] for n in range(300)] + [["名字太长了啊", "13800138000"]]
    # when
    log = check(county_clerk, sheet(["姓名", "手机"], *rows))
    # then
    assert log.error_count == 301
    assert len(log.errors) == 301
    assert log.errors[0] == {
        "row": 2,
        "column": "Mobile",
        "message": "Enter a mobile number.",
        "value": "138****000x",
    }
    assert log.errors[-1]["row"] == 302
    assert log.errors[-1]["message"] == "At most 5 characters are allowed; this has 6."


def test_duplicates_within_the_file_are_reported_with_the_first_row(county_clerk):
    log = check(
        county_clerk,
        sheet(
            ["姓名", "手机"], ["甲", "13800138000"], ["乙", "13900139000"], ["丙", "13800138000"]
        ),
    )
    assert [(e["row"], e["message"], e["value"]) for e in log.errors] == [
        (4, "The same value already appears in row 2.", "138****8000")
    ]


def test_required_value_missing_is_a_row_error(county_clerk):
    log = check(county_clerk, sheet(["姓名", "手机"], ["", "13800138000"]))
    assert [(e["row"], e["column"], e["message"]) for e in log.errors] == [
        (2, "Name", "This value is required.")
    ]


def test_validation_keeps_hash_preview_and_rows_and_is_audited(county_clerk):
    # given
    upload = sheet(["姓名", "手机", "Note"], *[[f"人{n}", "", ""] for n in range(25)])
    content = upload.read()
    upload.seek(0)
    # when
    log = check(county_clerk, upload)
    # then
    assert log.status == ImportStatus.VALID
    assert log.sha256 == hashlib.sha256(content).hexdigest()
    assert log.filename == "contacts.xlsx"
    assert log.row_count == 25
    assert len(log.rows) == 25
    assert len(log.preview) == 20
    assert log.preview[0] == {"row": 2, "action": "create", "cells": ["人0", "", ""]}
    event = AuditEvent.objects.get(event_type="import.validate")
    assert (event.actor, event.object_id, event.outcome) == (county_clerk, str(log.pk), "success")
    assert event.details["sha256"] == log.sha256
    assert event.details["rows"] == 25


def test_a_file_that_is_not_a_workbook_leaves_no_log_and_is_audited_as_failure(county_clerk):
    fake = SimpleUploadedFile("contacts.xlsx", b"PK\x03\x04 not really", content_type=XLSX)
    with pytest.raises(ValidationError) as excinfo:
        check(county_clerk, fake)
    assert excinfo.value.messages == ["The file is not an .xlsx workbook."]
    assert not ImportLog.objects.exists()
    event = AuditEvent.objects.get(event_type="import.validate")
    assert event.outcome == "failure"
    assert event.reason == "The file is not an .xlsx workbook."


def test_a_sheet_with_only_a_header_is_reported(county_clerk):
    log = check(county_clerk, sheet(["姓名", "手机"]))
    assert log.status == ImportStatus.INVALID
    assert log.errors[0]["message"] == "The sheet has no data rows below the header."


def test_commit_runs_once_and_keeps_undo_data(county_clerk):
    # given
    ContactImporter.committed.clear()
    log = check(county_clerk, sheet(["姓名"], ["甲"], ["乙"]))
    # when
    log = import_commit(user=county_clerk, log=log)
    # then
    assert log.status == ImportStatus.COMMITTED
    assert ContactImporter.committed == [["甲", "乙"]]
    assert log.undo_data == {"names": ["甲", "乙"]}
    assert log.summary["result"] == {"create": 2}
    assert log.rows == []
    assert log.committed_at is not None
    event = AuditEvent.objects.get(event_type="import.commit")
    assert event.details["create"] == 2
    # and a second commit is refused
    with pytest.raises(ValidationError):
        import_commit(user=county_clerk, log=log)
    assert ContactImporter.committed == [["甲", "乙"]]


def test_report_lines_name_row_column_and_problem():
    assert format_error({"row": 3, "column": "Name", "message": "Bad."}) == "Row 3 [Name]: Bad."
    assert format_error({"row": 1, "column": "", "message": "Bad."}) == "Row 1: Bad."


def test_template_has_the_header_and_an_instructions_sheet():
    book = openpyxl.load_workbook(io.BytesIO(ContactImporter().template_bytes()))
    assert [cell.value for cell in book.worksheets[0][1]] == ["Name", "Mobile", "Note"]
    notes = [row[0].value for row in book.worksheets[1].iter_rows()]
    assert "Required columns: Name." in notes


# --- Export helpers shared by every exporter -------------------------------------------------


def test_download_names_have_an_ascii_fallback_and_an_rfc5987_utf8_name():
    from kexie.core.exports import content_disposition

    assert content_disposition("组织-20260101.xlsx") == (
        "attachment; filename=\"20260101.xlsx\"; filename*=UTF-8''%E7%BB%84%E7%BB%87-20260101.xlsx"
    )
    assert content_disposition('a"b\r\n.csv') == (
        "attachment; filename=\"a_b.csv\"; filename*=UTF-8''a_b__.csv"
    )
