"""Browser journey in Chinese (STYLE.md 17): Playwright driving the system's Chromium.

On a developer's machine without Chromium the test is skipped with a visible notice; in CI
(CI=true) a missing browser is a failure.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest
from openpyxl import Workbook

from kexie.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(live_server, monkeypatch):
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("NOTICE: Chromium not installed; browser journey skipped")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # itself are outside it, but Django's guard cannot tell.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        outside: list[str] = []
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
        )
        yield page, errors, outside
        context.close()
        browser.close()


def _orgs_workbook(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["组织代码", "名称", "简称", "类型", "上级组织代码", "行政区划代码"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_county_admin_journey_in_chinese(browser_page, live_server, tree, county_admin, tmp_path):
    page, console_errors, outside_requests = browser_page
    base = live_server.url

    # given the login page in Chinese
    page.goto(f"{base}/")
    assert "登录" in page.title()
    # when the 额敏 admin logs in
    page.fill("input[name=username]", "emin_admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert "首页" in page.content()

    # and browses the tree: their county's units load lazily, and fold and unfold
    page.goto(f"{base}/orgs/")
    page.wait_for_selector("text=额敏镇科普协会")
    assert page.locator("text=托里县科学技术协会").count() == 0
    page.click("[data-testid='expand-KX654221']")
    assert not page.locator("text=额敏镇科普协会").is_visible()
    page.click("[data-testid='expand-KX654221']")
    assert page.locator("text=额敏镇科普协会").is_visible()

    # and opens another county's organisation by URL: 404, as if it did not exist
    response = page.goto(f"{base}/orgs/{tree.toli_town.pk}/")
    assert response.status == 404
    assert "托里镇科普协会" not in page.content()

    # and imports a sheet with one bad row
    sheet = tmp_path / "orgs.xlsx"
    sheet.write_bytes(
        _orgs_workbook(
            [
                ["SCH654221009", "额敏县第九中学", "", "学校", "KX654221", "654221"],
                ["SCH654221010", "额敏县第十中学", "", "学校", "KX654299", "654221"],
            ]
        )
    )
    page.goto(f"{base}/orgs/import/")
    page.set_input_files("input[type=file]", str(sheet))
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    # then the bad row is reported with its row number and nothing was written
    report = page.locator("[data-testid='import-errors']")
    assert report.count() == 1
    assert "3" in report.inner_text()
    assert "KX654299" in report.inner_text()
    from kexie.orgs.models import Organisation

    assert not Organisation.objects.filter(code__in=["SCH654221009", "SCH654221010"]).exists()

    # when they log out
    page.click("text=退出")
    page.wait_for_url("**/accounts/login/**")
    # then the pages are closed to them again
    page.goto(f"{base}/orgs/")
    assert "/accounts/login/" in page.url
    assert outside_requests == []
    assert [e for e in console_errors if "Content Security Policy" in e] == []
