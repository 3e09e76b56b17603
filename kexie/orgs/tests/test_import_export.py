"""Importing and exporting organisations (XLS-01..07, AC-02, AC-03, AUD-01) with synthetic data."""

from __future__ import annotations

import hashlib
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from kexie.core.choices import ImportStatus, JobStatus
from kexie.core.imports import import_commit, import_undo, import_validate
from kexie.core.models import AuditEvent, ImportLog
from kexie.core.validators import org_code_check_char, uscc_check_char
from kexie.orgs.importers import OrganisationImporter, parse_kind
from kexie.orgs.models import Organisation
from kexie.orgs.services import (
    organisation_create,
    organisation_dissolve,
    organisation_update,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "组织代码",
    "名称",
    "简称",
    "类型",
    "上级组织代码",
    "行政区划代码",
    "统一社会信用代码",
    "联系人",
    "办公电话",
    "电子邮箱",
    "地址",
]


@pytest.fixture(autouse=True)
def english():
    # Messages are compared in their English source text, whatever catalogues exist.
    with translation.override("en"):
        yield


def make_uscc(serial: int) -> str:
    body = f"MA{serial:06d}"
    first17 = f"51654221{body}{org_code_check_char(body)}"
    return first17 + uscc_check_char(first17)


def org_row(code, name, *, kind="成员单位", parent="KX654221", region="654221", **extra):
    return [
        code,
        name,
        extra.get("short_name", ""),
        kind,
        parent,
        region,
        extra.get("uscc", ""),
        extra.get("contact_person", ""),
        extra.get("contact_phone", ""),
        extra.get("email", ""),
        extra.get("address", ""),
    ]


def workbook(*rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(*rows, name="组织.xlsx", header=HEADER) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, workbook(*rows, header=header), content_type=XLSX)


def importer() -> OrganisationImporter:
    return OrganisationImporter()


def header_of(key: str) -> str:
    return importer().column(key).header_text


def events(event_type: str) -> int:
    return AuditEvent.objects.filter(event_type=event_type).count()


# --- Validation ------------------------------------------------------------------------------


def test_every_bad_row_is_reported_and_nothing_is_written(county_admin):
    # given a file with good rows and three bad ones
    before = Organisation.objects.count()
    creates_before = events("org.create")
    file = upload(
        org_row("T100001", "甲单位"),
        org_row("T100002", "乙单位", region="999999"),
        org_row("T100003", "丙单位"),
        org_row("T100004", "丁单位", kind="不存在的类型", uscc="123"),
        org_row("T100001", "重复单位"),
    )
    # when
    log = import_validate(user=county_admin, importer=importer(), upload=file)
    # then every bad row is listed with row number, column and message
    assert log.status == ImportStatus.INVALID
    assert log.row_count == 5
    assert log.error_count == 3
    assert [(e["row"], e["column"], e["message"]) for e in log.errors] == [
        (3, header_of("region"), "The region code 999999 is not in the region table."),
        (
            5,
            header_of("kind"),
            "Unknown type 不存在的类型. Use one of the types listed in the template.",
        ),
        (
            5,
            header_of("uscc"),
            "A unified social credit code has 18 characters; this one has 3.",
        ),
        (6, header_of("code"), "The same value already appears in row 2."),
    ]
    assert log.rows == []
    # and nothing was written, and the log cannot be committed
    with pytest.raises(ValidationError):
        import_commit(user=county_admin, log=log)
    assert Organisation.objects.count() == before
    assert events("org.create") == creates_before


def test_service_rules_are_row_errors_at_validation(county_admin):
    # given an association with the wrong code and a unit outside its parent's region
    file = upload(
        org_row("KX999", "玉什喀拉苏镇科协", kind="township_association", region="654221101000"),
        org_row("T200001", "托里的单位", region="654224"),
    )
    # when
    log = import_validate(user=county_admin, importer=importer(), upload=file)
    # then
    assert [(e["row"], e["column"], e["message"]) for e in log.errors] == [
        (2, header_of("code"), "An association at a region has the code KX654221101000."),
        (
            3,
            header_of("region"),
            "The region must lie within the parent organisation's region (额敏县).",
        ),
    ]


def test_row_under_another_county_is_an_error_for_a_county_admin(county_admin, tree):
    # given rows that create below 托里 and update an organisation of 托里
    file = upload(
        org_row("T300001", "托里的新单位", parent="KX654224", region="654224"),
        org_row(
            "KX654224100000",
            "托里镇科普协会（改）",
            kind="township_association",
            parent="KX654224",
            region="654224100000",
        ),
        org_row("T300002", "额敏的新单位"),
    )
    # when
    log = import_validate(user=county_admin, importer=importer(), upload=file)
    # then
    assert [(e["row"], e["column"], e["message"]) for e in log.errors] == [
        (2, header_of("parent"), "The parent organisation KX654224 lies outside your scope."),
        (3, header_of("code"), "The organisation KX654224100000 lies outside your scope."),
    ]
    tree.toli_town.refresh_from_db()
    assert tree.toli_town.name == "托里镇科普协会"
    assert not Organisation.objects.filter(code__in=["T300001", "T300002"]).exists()


def test_parent_missing_from_database_and_file_is_a_row_error(county_admin):
    log = import_validate(
        user=county_admin,
        importer=importer(),
        upload=upload(org_row("T400001", "孤儿", parent="NOPE1")),
    )
    assert [(e["row"], e["column"], e["message"]) for e in log.errors] == [
        (
            2,
            header_of("parent"),
            "The parent organisation NOPE1 exists neither in the system nor in this file.",
        )
    ]


def test_parents_that_loop_are_a_row_error(county_admin):
    log = import_validate(
        user=county_admin,
        importer=importer(),
        upload=upload(
            org_row("T500001", "甲", parent="T500002"), org_row("T500002", "乙", parent="T500001")
        ),
    )
    message = "The chain of parent organisations loops back to this row."
    assert [(e["row"], e["message"]) for e in log.errors] == [(2, message), (3, message)]


def test_a_different_parent_is_an_error_pointing_to_the_move_page(prefecture_admin, tree):
    file = upload(org_row("SCH654221001", "额敏县第一中学", kind="school", parent="KX654224"))
    log = import_validate(user=prefecture_admin, importer=importer(), upload=file)
    assert len(log.errors) == 1
    assert log.errors[0]["column"] == header_of("parent")
    assert "The current parent is KX654221" in log.errors[0]["message"]
    assert "Move page" in log.errors[0]["message"]


def test_type_is_accepted_as_label_part_whole_label_or_code():
    assert parse_kind("成员单位") == "member_unit"
    assert parse_kind("Member unit") == "member_unit"
    assert parse_kind("Member unit (成员单位)") == "member_unit"
    assert parse_kind("member_unit") == "member_unit"
    assert parse_kind("县市科协") == "county_association"
    with pytest.raises(ValidationError):
        parse_kind("公司")


# --- Commit, idempotency, undo ---------------------------------------------------------------


def test_commit_writes_all_rows_through_services_children_before_parents_allowed(county_admin):
    # given a child listed before the parent it hangs under, both new
    uscc = make_uscc(1)
    file = upload(
        org_row("T600002", "新小组", parent="T600001"),
        org_row("T600001", "新单位", uscc=uscc, email="unit@example.invalid"),
    )
    log = import_validate(user=county_admin, importer=importer(), upload=file)
    assert log.status == ImportStatus.VALID, log.errors
    assert [row["row"] for row in log.preview] == [2, 3]
    # when
    log = import_commit(user=county_admin, log=log)
    # then
    assert log.status == ImportStatus.COMMITTED
    parent = Organisation.objects.get(code="T600001")
    child = Organisation.objects.get(code="T600002")
    assert child.parent == parent
    assert parent.parent.code == "KX654221"
    assert (parent.uscc, parent.email, parent.kind) == (uscc, "unit@example.invalid", "member_unit")
    assert log.summary["result"] == {"create": 2, "update": 0, "unchanged": 0}
    assert log.rows == []
    created = AuditEvent.objects.filter(
        event_type="org.create", object_id__in=[parent.pk, child.pk]
    )
    assert created.count() == 2
    assert all(event.details["import_log"] == log.pk for event in created)
    assert events("import.commit") == 1
    assert events("import.validate") == 1


def test_importing_the_same_file_twice_changes_nothing_the_second_time(county_admin, tree):
    # given a file that creates two units and changes the school's phone
    rows = [
        org_row("T700001", "甲单位"),
        org_row("T700002", "乙单位", parent="T700001"),
        org_row("SCH654221001", "额敏县第一中学", kind="学校", contact_phone="0901-1234567"),
    ]
    first = import_validate(user=county_admin, importer=importer(), upload=upload(*rows))
    assert first.summary["planned"] == {"create": 2, "update": 1, "unchanged": 0}
    import_commit(user=county_admin, log=first)
    updates_after_first = events("org.update")
    creates_after_first = events("org.create")
    count_after_first = Organisation.objects.count()
    # when the same file is imported again
    second = import_validate(user=county_admin, importer=importer(), upload=upload(*rows))
    second = import_commit(user=county_admin, log=second)
    # then every row is unchanged and no business event was written
    assert second.summary["planned"] == {"create": 0, "update": 0, "unchanged": 3}
    assert second.summary["result"] == {"create": 0, "update": 0, "unchanged": 3}
    assert {row["action"] for row in second.preview} == {"unchanged"}
    assert updates_after_first == 1
    assert events("org.update") == updates_after_first
    assert events("org.create") == creates_after_first
    assert Organisation.objects.count() == count_after_first


def test_undo_removes_created_and_restores_updated_organisations(county_admin, tree):
    # given a committed import that created two units and changed the school
    before = Organisation.objects.count()
    file = upload(
        org_row("T800001", "甲单位"),
        org_row("T800002", "乙单位", parent="T800001"),
        org_row(
            "SCH654221001",
            "额敏县第一中学（新名）",
            kind="学校",
            contact_person="王老师",
            address="额敏县",
        ),
    )
    log = import_commit(
        user=county_admin, log=import_validate(user=county_admin, importer=importer(), upload=file)
    )
    tree.emin_school.refresh_from_db()
    assert tree.emin_school.name == "额敏县第一中学（新名）"
    # when
    log = import_undo(user=county_admin, log=log)
    # then
    assert log.status == ImportStatus.UNDONE
    assert Organisation.objects.count() == before
    tree.emin_school.refresh_from_db()
    assert (tree.emin_school.name, tree.emin_school.contact_person, tree.emin_school.address) == (
        "额敏县第一中学",
        "",
        "",
    )
    tree.emin.refresh_from_db()
    assert tree.emin.child_count == 2
    assert events("org.delete") == 2
    assert events("import.undo") == 1
    # and a second undo is refused
    with pytest.raises(ValidationError):
        import_undo(user=county_admin, log=log)


def test_undo_is_refused_when_a_created_organisation_is_referenced(county_admin):
    # given a committed import, and a unit created later below one of its organisations
    log = import_commit(
        user=county_admin,
        log=import_validate(
            user=county_admin, importer=importer(), upload=upload(org_row("T900001", "甲单位"))
        ),
    )
    created = Organisation.objects.get(code="T900001")
    organisation_create(
        actor=county_admin,
        parent=created,
        name="后来的单位",
        kind="member_unit",
        code="T900099",
        region=created.region,
    )
    # when / then
    with pytest.raises(ValidationError) as excinfo:
        import_undo(user=county_admin, log=log)
    assert "The import cannot be undone" in excinfo.value.messages[0]
    assert "甲单位 is already referenced" in excinfo.value.messages[0]
    log.refresh_from_db()
    assert log.status == ImportStatus.COMMITTED
    assert Organisation.objects.filter(code__in=["T900001", "T900099"]).count() == 2
    assert events("org.delete") == 0


def test_a_row_that_became_invalid_after_validation_fails_the_whole_commit(county_admin, tree):
    # given a validated file, and a parent dissolved before the commit
    holder = organisation_create(
        actor=None,
        parent=tree.emin,
        name="将撤销",
        kind="member_unit",
        code="T160000",
        region=tree.emin.region,
    )
    file = upload(org_row("T160001", "甲单位"), org_row("T160002", "乙单位", parent="T160000"))
    log = import_validate(user=county_admin, importer=importer(), upload=file)
    assert log.status == ImportStatus.VALID
    organisation_dissolve(actor=None, organisation=holder)
    # when
    log = import_commit(user=county_admin, log=log)
    # then nothing of the file was written and the log says which row failed
    assert log.status == ImportStatus.FAILED
    assert [(e["row"], e["message"]) for e in log.errors] == [
        (3, "A dissolved organisation cannot get new units.")
    ]
    assert not Organisation.objects.filter(code__in=["T160001", "T160002"]).exists()
    assert AuditEvent.objects.get(event_type="import.commit").outcome == "failure"


def test_commit_and_undo_of_someone_elses_import_are_refused(county_admin, county_clerk):
    log = import_validate(
        user=county_admin, importer=importer(), upload=upload(org_row("T110001", "甲"))
    )
    with pytest.raises(PermissionDenied):
        import_commit(user=county_clerk, log=log)
    log.refresh_from_db()
    assert log.status == ImportStatus.VALID
    assert not Organisation.objects.filter(code="T110001").exists()


def test_user_without_import_right_cannot_validate(county_viewer):
    with pytest.raises(PermissionDenied):
        import_validate(user=county_viewer, importer=importer(), upload=upload(org_row("T1", "甲")))
    assert not ImportLog.objects.exists()
    assert AuditEvent.objects.get(event_type="import.validate").outcome == "denied"


def test_large_import_is_committed_by_the_worker_with_progress(
    prefecture_admin, django_capture_on_commit_callbacks, monkeypatch, settings
):
    # given a valid file with more rows than KEXIE_IMPORT_BACKGROUND_ROWS
    assert settings.KEXIE_IMPORT_BACKGROUND_ROWS == 50
    rows = [org_row(f"BG{n:04d}", f"后台单位{n}") for n in range(55)]
    log = import_validate(user=prefecture_admin, importer=importer(), upload=upload(*rows))
    assert log.status == ImportStatus.VALID
    # when it is committed, a job is queued instead of writing in the request
    with django_capture_on_commit_callbacks(execute=True):
        log = import_commit(user=prefecture_admin, log=log)
    assert log.status == ImportStatus.COMMITTING
    assert log.job is not None
    assert log.job.status == JobStatus.QUEUED
    assert not Organisation.objects.filter(code__startswith="BG").exists()
    # and the worker runs it (inside this test's transaction: keep its connection open)
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    call_command("run_worker", "--batch", "--interval", "0")
    # then
    job = log.job
    job.refresh_from_db()
    log.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (55, 55, 100)
    assert log.status == ImportStatus.COMMITTED
    assert Organisation.objects.filter(code__startswith="BG").count() == 55
    assert AuditEvent.objects.get(event_type="import.commit").actor == prefecture_admin


# --- Export ----------------------------------------------------------------------------------


def export_rows(response) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return [[cell.value for cell in row] for row in book.worksheets[0].iter_rows()]


def test_export_holds_only_the_users_scope_and_is_audited(county_admin, login, tree):
    # when
    response = login(county_admin).get(reverse("orgs:organisation_export"))
    # then
    assert response.status_code == 200
    rows = export_rows(response)
    assert rows[0] == importer().header_texts()
    assert [row[0] for row in rows[1:]] == ["KX654221", "KX654221100000", "SCH654221001"]
    assert response["Cache-Control"] == "no-store"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''" in disposition
    event = AuditEvent.objects.get(event_type="export.download")
    assert event.actor == county_admin
    assert event.details["rows"] == 3
    assert event.details["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert event.details["fields"][:2] == ["code", "name"]
    assert event.details["filters"] == {}


def test_export_filters_like_the_list_page(prefecture_admin, login, tree):
    client = login(prefecture_admin)
    url = reverse("orgs:organisation_export")
    under = export_rows(client.get(url, {"under": tree.toli.pk}))
    assert [row[0] for row in under[1:]] == ["KX654224", "KX654224100000"]
    kind = export_rows(client.get(url, {"kind": "county_association"}))
    assert [row[0] for row in kind[1:]] == ["KX654221", "KX654224"]
    found = export_rows(client.get(url, {"q": "农学"}))
    assert [row[0] for row in found[1:]] == ["XH654200001"]
    details = AuditEvent.objects.filter(event_type="export.download").order_by("id")
    assert [event.details["filters"] for event in details] == [
        {"under": "KX654224"},
        {"kind": "county_association"},
        {"q": "农学"},
    ]


def test_export_of_a_subtree_outside_scope_is_404(county_admin, login, tree):
    response = login(county_admin).get(reverse("orgs:organisation_export"), {"under": tree.toli.pk})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event_type="export.download", outcome="success").exists()


def test_export_needs_the_export_right(county_clerk, login):
    response = login(county_clerk).get(reverse("orgs:organisation_export"))
    assert response.status_code == 403
    assert AuditEvent.objects.get(event_type="export.download").outcome == "denied"


def test_exported_formula_text_comes_back_escaped(county_admin, login, tree):
    # given an organisation whose name starts with "="
    organisation_update(
        actor=None, organisation=tree.emin_school, data={"name": '=HYPERLINK("http://x.invalid")'}
    )
    # when
    response = login(county_admin).get(reverse("orgs:organisation_export"))
    # then the cell is text with a leading quote, not a formula
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert cells["SCH654221001"].value == '\'=HYPERLINK("http://x.invalid")'
    assert cells["SCH654221001"].data_type == "s"


def test_export_as_csv_is_escaped_too(county_admin, login, tree):
    organisation_update(actor=None, organisation=tree.emin_school, data={"name": "@SUM(1)"})
    response = login(county_admin).get(reverse("orgs:organisation_export"), {"format": "csv"})
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "SCH654221001,'@SUM(1)," in text


def test_an_export_reimports_unchanged(prefecture_admin, login, tree):
    # given an export of the whole tree, including an escaped name
    organisation_update(actor=None, organisation=tree.society, data={"name": "-农学会-"})
    response = login(prefecture_admin).get(reverse("orgs:organisation_export"))
    file = SimpleUploadedFile("export.xlsx", response.content, content_type=XLSX)
    # when
    log = import_validate(user=prefecture_admin, importer=importer(), upload=file)
    # then
    assert log.errors == []
    assert log.summary["planned"] == {"create": 0, "update": 0, "unchanged": 7}


# --- Pages -----------------------------------------------------------------------------------


@pytest.fixture
def en_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_import_pages_upload_preview_commit_and_undo(county_admin, en_client):
    en_client.force_login(county_admin)
    # the upload page
    page = en_client.get(reverse("orgs:organisation_import"))
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    assert b"csrfmiddlewaretoken" in page.content
    # upload → report page with preview
    response = en_client.post(
        reverse("orgs:organisation_import"), {"file": upload(org_row("T120001", "页面单位"))}
    )
    log = ImportLog.objects.get()
    detail = reverse("orgs:organisation_import_detail", args=[log.pk])
    assert response.status_code == 302
    assert response["Location"] == detail
    html = en_client.get(detail).content.decode()
    assert "页面单位" in html
    assert reverse("orgs:organisation_import_commit", args=[log.pk]) in html
    # commit is POST only
    assert (
        en_client.get(reverse("orgs:organisation_import_commit", args=[log.pk])).status_code == 405
    )
    response = en_client.post(reverse("orgs:organisation_import_commit", args=[log.pk]))
    assert response.status_code == 302
    assert Organisation.objects.filter(code="T120001").exists()
    html = en_client.get(detail).content.decode()
    assert reverse("orgs:organisation_import_undo", args=[log.pk]) in html
    # undo
    en_client.post(reverse("orgs:organisation_import_undo", args=[log.pk]))
    assert not Organisation.objects.filter(code="T120001").exists()


def test_report_page_shows_the_progress_of_a_background_import(county_admin, en_client):
    en_client.force_login(county_admin)
    rows = [org_row(f"T17{n:04d}", f"后台{n}") for n in range(51)]
    en_client.post(reverse("orgs:organisation_import"), {"file": upload(*rows)})
    log = ImportLog.objects.get()
    en_client.post(reverse("orgs:organisation_import_commit", args=[log.pk]))
    log.refresh_from_db()
    assert log.job is not None
    assert log.job.result_url == reverse("orgs:organisation_import_detail", args=[log.pk])
    html = en_client.get(reverse("orgs:organisation_import_detail", args=[log.pk])).content.decode()
    assert 'role="progressbar"' in html
    assert f'id="job-{log.job.pk}"' in html


def test_report_page_lists_every_bad_row(county_admin, en_client):
    en_client.force_login(county_admin)
    rows = [org_row(f"T13{n:04d}", f"坏单位{n}", region="999999") for n in range(30)]
    en_client.post(reverse("orgs:organisation_import"), {"file": upload(*rows)})
    log = ImportLog.objects.get()
    html = en_client.get(reverse("orgs:organisation_import_detail", args=[log.pk])).content.decode()
    assert html.count("The region code 999999 is not in the region table.") == 30
    assert "alert alert-danger" in html
    assert reverse("orgs:organisation_import_commit", args=[log.pk]) not in html


def test_upload_of_a_non_workbook_shows_a_clear_message(county_admin, en_client):
    en_client.force_login(county_admin)
    fake = SimpleUploadedFile("orgs.xlsx", b"not a workbook", content_type=XLSX)
    response = en_client.post(reverse("orgs:organisation_import"), {"file": fake})
    assert response.status_code == 400
    assert "The file is not an .xlsx workbook." in response.content.decode()
    assert not ImportLog.objects.exists()


def test_someone_elses_import_log_is_404(county_admin, outsider, login):
    log = import_validate(
        user=county_admin, importer=importer(), upload=upload(org_row("T140001", "甲"))
    )
    client = login(outsider)
    assert client.get(reverse("orgs:organisation_import_detail", args=[log.pk])).status_code == 404
    response = client.post(reverse("orgs:organisation_import_commit", args=[log.pk]))
    assert response.status_code == 404
    assert not Organisation.objects.filter(code="T140001").exists()


def test_import_pages_need_the_import_right(county_viewer, login):
    client = login(county_viewer)
    assert client.get(reverse("orgs:organisation_import")).status_code == 403
    assert client.get(reverse("orgs:organisation_import_template")).status_code == 403


def test_template_download_has_the_importer_header(county_admin, login):
    response = login(county_admin).get(reverse("orgs:organisation_import_template"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    header = [cell.value for cell in next(book.worksheets[0].iter_rows())]
    assert header == importer().header_texts()
    assert book.worksheets[0].max_row == 1
