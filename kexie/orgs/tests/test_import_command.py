"""``manage.py import_orgs``: the same checks and report as the pages, for operators."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from kexie.core.models import AuditEvent, ImportLog
from kexie.orgs.importers import OrganisationImporter
from kexie.orgs.models import Organisation

HEADER = ["组织代码", "名称", "类型", "上级组织代码", "行政区划代码"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def write_sheet(path, *rows) -> str:
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(list(row))
    book.save(path)
    return str(path)


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_orgs", *args, stdout=out)
    return out.getvalue()


def test_template_option_writes_a_file_with_the_importer_header(tmp_path):
    target = tmp_path / "template.xlsx"
    run("--template", str(target))
    book = openpyxl.load_workbook(target)
    header = [cell.value for cell in book.worksheets[0][1]]
    assert header == OrganisationImporter().header_texts()


def test_a_bad_row_prints_the_report_and_exits_non_zero(tree, tmp_path):
    # given
    path = write_sheet(
        tmp_path / "orgs.xlsx",
        ["T210001", "甲单位", "成员单位", "KX654221", "654221"],
        ["T210002", "乙单位", "成员单位", "KX654221", "999999"],
        ["T210003", "丙单位", "不存在", "KX654221", "654221"],
    )
    before = Organisation.objects.count()
    out = io.StringIO()
    # when
    with pytest.raises(CommandError) as excinfo:
        call_command("import_orgs", path, "--commit", stdout=out)
    # then
    lines = out.getvalue().splitlines()
    assert lines == [
        "Row 3 [Region code]: The region code 999999 is not in the region table.",
        "Row 4 [Type]: Unknown type 不存在. Use one of the types listed in the template.",
    ]
    assert "2 bad row(s)" in str(excinfo.value)
    assert Organisation.objects.count() == before


def test_bad_row_makes_the_process_exit_with_status_1(tree, tmp_path):
    path = write_sheet(tmp_path / "orgs.xlsx", ["T220001", "甲单位", "成员单位", "NOPE", "654221"])
    with pytest.raises(SystemExit) as excinfo:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "import_orgs", path]).execute()
    assert excinfo.value.code == 1


def test_check_without_commit_writes_nothing(tree, tmp_path):
    path = write_sheet(
        tmp_path / "orgs.xlsx", ["T230001", "甲单位", "成员单位", "KX654221", "654221"]
    )
    out = run(path)
    assert "checked: 1 row(s); 1 new, 0 changed, 0 unchanged" in out
    assert not Organisation.objects.filter(code="T230001").exists()


def test_commit_as_trusted_operator_writes_all_rows_in_one_go(tree, tmp_path):
    path = write_sheet(
        tmp_path / "orgs.xlsx",
        ["T240002", "子单位", "成员单位", "T240001", "654224"],
        ["T240001", "托里的单位", "成员单位", "KX654224", "654224"],
    )
    out = run(path, "--commit")
    assert "imported: 2 row(s); 2 new, 0 changed, 0 unchanged" in out
    assert Organisation.objects.get(code="T240002").parent.code == "T240001"
    event = AuditEvent.objects.get(event_type="import.commit")
    assert event.actor is None
    assert event.details["operator"] is True
    # and running it again changes nothing
    out = run(path, "--commit")
    assert "imported: 2 row(s); 0 new, 0 changed, 2 unchanged" in out


def test_commit_as_a_user_applies_their_scope_and_keeps_a_log(county_admin, tmp_path):
    path = write_sheet(
        tmp_path / "orgs.xlsx",
        ["T250001", "托里的单位", "成员单位", "KX654224", "654224"],
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_orgs", path, "--commit", "--user", "EMIN_ADMIN", stdout=out)
    assert "lies outside your scope" in out.getvalue()
    assert not Organisation.objects.filter(code="T250001").exists()
    # inside the scope it is written, with an undoable log
    path = write_sheet(
        tmp_path / "orgs2.xlsx", ["T250002", "额敏的单位", "成员单位", "KX654221", "654221"]
    )
    run(path, "--commit", "--user", "emin_admin")
    log = ImportLog.objects.get(status="committed")
    assert log.created_by == county_admin
    assert log.undo_data["created"] == [Organisation.objects.get(code="T250002").pk]


def test_a_file_that_is_not_a_workbook_is_refused(tree, tmp_path):
    path = tmp_path / "orgs.xlsx"
    path.write_bytes(b"code,name\n")
    with pytest.raises(CommandError) as excinfo:
        run(str(path))
    assert str(excinfo.value) == "The file is not an .xlsx workbook."
