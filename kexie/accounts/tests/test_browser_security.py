"""Browser journey of the security base (issue 3, item 8), in Chinese:

a new staff account activates through its link, a weak password is refused with the reason,
a compliant one is accepted, TOTP is enrolled and used to log in; five wrong passwords lock
the account; the audit administrator finds all of it in the audit log.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import totp

from kexie.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Emin-Clerk-2026!"


def _code(secret_text: str) -> str:
    """The app's current code (time.time(), so time-machine moves it too)."""
    secret = re.sub(r"\s+", "", secret_text)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


@pytest.fixture
def page(live_server, monkeypatch, settings):
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("NOTICE: Chromium not installed; browser journey skipped")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        yield context.new_page()
        context.close()
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_new_staff_activation_2fa_lockout_and_audit(page, live_server, tree, audit_admin, settings):
    base = live_server.url
    settings.KEXIE_REQUIRE_2FA = True

    # given a new clerk created by an operator, who gets an activation link
    out = io.StringIO()
    call_command(
        "create_staff",
        "emin_newclerk",
        "--org",
        "KX654221",
        "--role",
        "clerk",
        "--base-url",
        base,
        stdout=out,
    )
    link = re.search(r"(http\S+/accounts/activate/\S+)", out.getvalue()).group(1)

    # when they open it and try a weak password
    page.goto(link)
    page.fill("input[name=new_password1]", "abc12345")
    page.fill("input[name=new_password2]", "abc12345")
    page.locator("form:has(input[name=new_password1]) button[type=submit]").click()
    # then it is refused with the reason in Chinese
    assert page.locator(".invalid-feedback").count() > 0
    assert re.search(r"[\u4e00-\u9fff]", page.locator(".invalid-feedback").first.inner_text())

    # when they choose a compliant password
    page.fill("input[name=new_password1]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    page.locator("form:has(input[name=new_password1]) button[type=submit]").click()
    page.wait_for_url("**/accounts/login/**")

    # and log in: with 2FA required they must enrol first
    page.fill("input[name=username]", "emin_newclerk")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url("**/accounts/2fa/setup/**")
    assert page.locator("[data-testid=otp-qr] svg").count() == 1
    secret = page.locator("[data-testid=otp-secret]").inner_text()
    page.fill("input[name=token]", _code(secret))
    page.locator("form:has(input[name=token]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=recovery-codes] li").count() == 10
    assert "恢复码" in page.content()

    # when they log out and in again, a code from the app is asked for
    page.goto(f"{base}/")
    page.click("text=退出")
    page.wait_for_url("**/accounts/login/**")
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        page.fill("input[name=username]", "emin_newclerk")
        page.fill("input[name=password]", NEW_PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_url("**/accounts/2fa/verify/**")
        page.fill("input[name=token]", _code(secret))
        page.locator("form:has(input[name=token]) button[type=submit]").click()
        page.wait_for_url(f"{base}/")
        assert "首页" in page.content()
        page.click("text=退出")
        page.wait_for_url("**/accounts/login/**")

        # when someone tries five wrong passwords
        for _ in range(5):
            page.fill("input[name=username]", "emin_newclerk")
            page.fill("input[name=password]", "Wrong-Pass-0000")
            page.locator("form:has(input[name=password]) button[type=submit]").click()
            page.wait_for_load_state("networkidle")
        # then the account is locked, even for the right password
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", "emin_newclerk")
        page.fill("input[name=password]", NEW_PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        assert page.locator("[data-testid=locked-out]").count() == 1

    # when the audit administrator searches the log for the account
    settings.KEXIE_REQUIRE_2FA = False  # the auditor's own enrolment is not this journey
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", audit_admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/audit/?username=emin_newclerk")
    table = page.locator("[data-testid=audit-table]").inner_text()
    # then every step is there
    for code in (
        "account.activate",
        "auth.otp_enrol",
        "auth.login",
        "auth.login_failed",
        "auth.locked_out",
    ):
        assert code in table, code
