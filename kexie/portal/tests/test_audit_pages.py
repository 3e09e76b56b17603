"""AC-06, AUD-01/05: the audit administrator reads, searches, filters and exports the audit log;
nobody else can, and the pages change nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kexie.core.audit import RequestContext, _request_context, audit_log
from kexie.core.models import AuditEvent
from kexie.portal.audit_views import AuditEventExporter

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english_pages(client):
    # The assertions read the English source text of labels; ask for English pages.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def auditor(audit_admin, login):
    return login(audit_admin)


def _event(event_type="org.update", *, ip=None, actor=None, **kwargs) -> AuditEvent:
    token = _request_context.set(RequestContext(ip_address=ip, user_agent="UA/1", request_id="r"))
    try:
        return audit_log(actor=actor, event_type=event_type, **kwargs)
    finally:
        _request_context.reset(token)


def _sequences(html: str) -> list[int]:
    table = html.split('data-testid="audit-table"')[1].split("</table>")[0]
    return [int(n) for n in re.findall(r'href="/audit/(\d+)/"', table)]


def _snapshot() -> list[tuple]:
    return list(AuditEvent.objects.order_by("sequence").values_list("sequence", "hmac"))


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/audit/", "/audit/?event=org.", "/audit/1/", "/audit/export.xlsx"]
)
def test_only_the_audit_administrator_gets_in(
    url, client, tree, system_admin, security_admin, county_admin, audit_admin
):
    # anonymous → login page
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # the other two administrators and business staff → 403 (AC-06)
    for user in (system_admin, security_admin, county_admin):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(audit_admin)
    assert client.get(url).status_code == 200


def test_a_refused_export_is_audited_as_denied(tree, system_admin, login):
    login(system_admin).get("/audit/export.xlsx?event=auth.")
    event = AuditEvent.objects.get(event_type="audit.export")
    assert (event.actor, event.outcome) == (system_admin, "denied")
    assert event.details == {"filters": {"event": "auth."}}


@pytest.mark.parametrize("url", ["/audit/", "/audit/1/", "/audit/export.xlsx"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_no_page_writes_or_deletes_anything(url, method, tree, auditor):
    # given the log as it is
    before = _snapshot()
    # when anything but GET reaches an audit page
    response = getattr(auditor, method)(url)
    # then it is refused and the log is exactly as before
    assert response.status_code == 405
    assert _snapshot() == before


# --- List, filters, pagination --------------------------------------------------------------------


def test_the_list_shows_the_newest_events_first_with_labels(tree, auditor):
    _event("org.create", object_repr="新单位")
    html = auditor.get("/audit/").content.decode()
    newest = AuditEvent.objects.order_by("-sequence").first()
    assert _sequences(html)[0] == newest.sequence
    assert "Organisation created" in html
    assert "新单位" in html


def test_a_plain_page_load_writes_no_event(tree, auditor):
    before = _snapshot()
    assert auditor.get("/audit/").status_code == 200
    assert auditor.get("/audit/1/").status_code == 200
    assert _snapshot() == before


def test_filters_by_event_prefix_exact_code_and_outcome(tree, auditor):
    _event("auth.login_failed", object_repr="somebody", outcome="failure")
    _event("auth.logout")
    org_updates = set(AuditEvent.objects.filter(event_type="org.update").values_list("sequence"))
    # prefix
    shown = _sequences(auditor.get("/audit/?event=auth.").content.decode())
    expected = AuditEvent.objects.filter(event_type__startswith="auth.").order_by("-sequence")
    assert shown == [e.sequence for e in expected]
    assert len(shown) == 2
    # exact code
    shown = _sequences(auditor.get("/audit/?event=auth.logout").content.decode())
    assert shown == [AuditEvent.objects.get(event_type="auth.logout").sequence]
    # outcome
    shown = _sequences(auditor.get("/audit/?outcome=failure").content.decode())
    assert shown == [AuditEvent.objects.get(event_type="auth.login_failed").sequence]
    assert not org_updates & set(shown)


def test_an_unknown_event_code_is_a_form_error_not_a_search(tree, auditor):
    html = auditor.get("/audit/?event=drop.table").content.decode()
    assert _sequences(html) == []
    assert "invalid-feedback" in html
    assert not AuditEvent.objects.filter(event_type="audit.search").exists()


def test_filters_by_username_object_and_ip(tree, auditor, county_admin):
    mine = _event("org.update", actor=county_admin, ip="192.0.2.7", obj=tree.emin_school)
    failed = _event("auth.login_failed", object_repr="EMIN_ADMIN", outcome="failure")
    other = _event("org.update", ip="198.51.100.9", obj=tree.toli_town)
    # username (case-insensitive; failed logins match the name that was tried)
    shown = _sequences(auditor.get("/audit/?username=emin_admin").content.decode())
    assert mine.sequence in shown and failed.sequence in shown and other.sequence not in shown
    # object type and id
    url = f"/audit/?object_type=orgs.organisation&object_id={tree.toli_town.pk}"
    shown = _sequences(auditor.get(url).content.decode())
    assert other.sequence in shown and mine.sequence not in shown
    # IP address
    assert _sequences(auditor.get("/audit/?ip=192.0.2.7").content.decode()) == [mine.sequence]
    # a malformed IP is refused, never "everything"
    assert _sequences(auditor.get("/audit/?ip=192.0.2.").content.decode()) == []


def test_date_filters_use_beijing_days(tree, auditor):
    # given one event late on 1 March and one early on 2 March, Beijing time
    with time_machine.travel(dt.datetime(2026, 3, 1, 23, 30, tzinfo=BEIJING), tick=False):
        late = _event("org.update", object_repr="三月一日深夜")
    with time_machine.travel(dt.datetime(2026, 3, 2, 0, 30, tzinfo=BEIJING), tick=False):
        early = _event("org.update", object_repr="三月二日凌晨")
    # (both are on 1 March in UTC)
    assert late.occurred_at.date() == early.occurred_at.date() == dt.date(2026, 3, 1)
    # when filtering one Beijing day, each lands on its own day
    day1 = _sequences(
        auditor.get("/audit/?date_from=2026-03-01&date_to=2026-03-01").content.decode()
    )
    day2 = _sequences(
        auditor.get("/audit/?date_from=2026-03-02&date_to=2026-03-02").content.decode()
    )
    assert day1 == [late.sequence]
    assert day2 == [early.sequence]


def test_pages_by_sequence_without_counting(tree, auditor):
    # given more than two pages of events
    for index in range(120):
        _event("org.update", object_repr=f"第{index}条")
    everything = list(
        AuditEvent.objects.filter(event_type="org.update")
        .order_by("-sequence")
        .values_list("sequence", flat=True)
    )
    # when the auditor pages through a filtered list
    with CaptureQueriesContext(connection) as queries:
        first = auditor.get("/audit/?event=org.update").content.decode()
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    page1 = _sequences(first)
    older = re.search(r'href="\?([^"]+)" data-testid="audit-older"', first).group(1)
    second = auditor.get("/audit/?" + older.replace("&amp;", "&")).content.decode()
    page2 = _sequences(second)
    older = re.search(r'href="\?([^"]+)" data-testid="audit-older"', second).group(1)
    third = auditor.get("/audit/?" + older.replace("&amp;", "&")).content.decode()
    page3 = _sequences(third)
    # then the pages hold every event exactly once, newest first, and the filter is kept
    assert (len(page1), len(page2)) == (50, 50)
    assert page1 + page2 + page3 == everything
    assert 'data-testid="audit-older"' not in third
    # and "newer" from page 2 leads back to page 1
    newer = re.search(r'href="\?([^"]+)" data-testid="audit-newer"', second).group(1)
    assert _sequences(auditor.get("/audit/?" + newer.replace("&amp;", "&")).content.decode()) == (
        page1
    )


def test_list_query_count_does_not_grow_with_rows(tree, auditor, django_assert_max_num_queries):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert auditor.get("/audit/?event=org.").status_code == 200
        return len(captured.captured_queries)

    few = queries()
    for _ in range(60):
        _event("org.update")
    with django_assert_max_num_queries(25):
        many = queries()
    assert many == few


# --- Searches are audited -------------------------------------------------------------------------


def test_a_search_with_filters_is_audited_once(tree, auditor, audit_admin):
    # when the auditor searches
    auditor.get("/audit/?event=account.&username=emin_admin")
    # then one audit.search event holds the filters
    search = AuditEvent.objects.get(event_type="audit.search")
    assert search.actor == audit_admin
    assert search.actor_roles == "audit_admin"
    assert search.details["filters"] == {"event": "account.", "username": "emin_admin"}
    # and turning pages of the same search is not another search
    auditor.get(f"/audit/?event=account.&username=emin_admin&before={search.sequence}")
    assert AuditEvent.objects.filter(event_type="audit.search").count() == 1


# --- Detail and chain mark ------------------------------------------------------------------------


def test_detail_shows_the_fields_and_a_verified_chain_mark(tree, auditor):
    event = _event("org.update", ip="192.0.2.7", obj=tree.emin_school, reason="测试")
    html = auditor.get(f"/audit/{event.sequence}/").content.decode()
    assert 'data-testid="chain-status">Chain verified' in html
    for value in ("192.0.2.7", "额敏县第一中学", "测试", event.hmac, event.prev_hmac, "org.update"):
        assert value in html


def test_detail_marks_a_tampered_event(tree, auditor):
    event = _event("org.update", object_repr="原样")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_append_only ON core_auditevent")
        cursor.execute(
            "UPDATE core_auditevent SET object_repr = %s WHERE id = %s", ["改过", event.pk]
        )
    html = auditor.get(f"/audit/{event.sequence}/").content.decode()
    assert 'data-testid="chain-status">Chain broken' in html
    assert "HMAC does not match" in html


def test_detail_of_a_missing_event_is_404(tree, auditor):
    assert auditor.get("/audit/999999/").status_code == 404


# --- Export ---------------------------------------------------------------------------------------


def test_export_holds_the_filtered_events_and_is_audited(tree, auditor, audit_admin):
    # given events, one with text a spreadsheet would run as a formula
    _event("org.update", object_repr='=HYPERLINK("http://x")')
    expected = list(
        AuditEvent.objects.filter(event_type__startswith="org.")
        .order_by("-sequence")
        .values_list("sequence", flat=True)
    )
    # when the auditor exports the org.* events
    response = auditor.get("/audit/export.xlsx?event=org.")
    # then the file opens and holds exactly those rows
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    with translation.override("en"):  # the language the page was asked in
        assert list(rows[0]) == AuditEventExporter().headers()
    assert [row[0] for row in rows[1:]] == expected
    assert {row[4] for row in rows[1:]} <= {"org.create", "org.update"}
    # and formula-like text is escaped (XLS-06)
    assert '\'=HYPERLINK("http://x")' in [row[8] for row in rows[1:]]
    # and the export is one audit.export event with filters, row count and file hash
    export = AuditEvent.objects.get(event_type="audit.export")
    assert export.actor == audit_admin
    assert export.details["filters"] == {"event": "org."}
    assert export.details["rows"] == len(expected)
    assert export.details["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert not AuditEvent.objects.filter(event_type="export.download").exists()
