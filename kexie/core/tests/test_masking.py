"""PI-05 / AUD-03: masking of values, template filters, logs and error reports."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_class, get_exception_reporter_filter

from kexie.core.masking import (
    PiiExceptionReporter,
    PiiExceptionReporterFilter,
    PiiLogFilter,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
    mask_value,
)

PHONE = "13900001234"  # synthetic
ID_NUMBER = "65422119900101123X"  # synthetic


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("0901-1234567", "090******567"),
        ("1234", "12**"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("65422119900101123X", "6542**********123X"),
        ("65422119900101123x", "6542**********123X"),
        ("654221900101123", "6542********123"),
        ("1234567890", "12******90"),
        ("ABC", "***"),
        ("", ""),
    ],
)
def test_mask_id_number(raw, masked):
    assert mask_id_number(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("zhangsan@example.cn", "z*******@example.cn"),
        ("a@example.cn", "a*@example.cn"),
        ("@example.cn", "*@example.cn"),
        ("not-an-address", "n*************"),
        ("", ""),
    ],
)
def test_mask_email(raw, masked):
    assert mask_email(raw) == masked


def test_mask_name_keeps_only_the_first_character():
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "*"


def test_mask_value_dispatches_on_kind_and_refuses_unknown_kinds():
    assert mask_value("phone", PHONE) == "139****1234"
    assert mask_value("id_number", ID_NUMBER) == "6542**********123X"
    with pytest.raises(ValueError):
        mask_value("blood_type", "A")


def test_template_filters_mask():
    template = Template(
        "{% load kexie_mask %}{{ p|mask_phone }} {{ i|mask_id_number }} {{ e|mask_email }} "
        '{{ n|mask_name }} {{ p|mask:"phone" }}'
    )
    html = template.render(Context({"p": PHONE, "i": ID_NUMBER, "e": "li@example.cn", "n": "王五"}))
    assert html == "139****1234 6542**********123X l*@example.cn 王* 139****1234"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13900001234 now", "call 139****1234 now"),
        ("tel:+86 139-0000-1234.", "tel:139****1234."),
        ("id=65422119900101123X;", "id=6542**********123X;"),
        ("old id 654221900101123", "old id 6542********123"),
        ("password=hunter2&next=/", "password=********&next=/"),
        ("token: abc.def ok", "token: ******** ok"),
        (
            "Cookie: sessionid=abc123; csrftoken=xyz",
            "Cookie: sessionid=********; csrftoken=********",
        ),
        ('{"new_password1": "S3cret!"}', '{"new_password1": "********"}'),
        ("Authorization: Bearer abc.def", "Authorization: ********"),
        ("order 1234567890123456 and 2026-11-29", "order 1234567890123456 and 2026-11-29"),
    ],
)
def test_mask_text(text, expected):
    assert mask_text(text) == expected


# --- logs (AUD-03) ----------------------------------------------------------------------------


def _record(msg, args=(), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("kexie.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_log_filter_masks_message_and_arguments():
    record = _record("user %s with phone %s and ID %s (%d)", ("u1", PHONE, ID_NUMBER, 13900001234))
    assert PiiLogFilter().filter(record) is True
    assert record.getMessage() == (
        "user u1 with phone 139****1234 and ID 6542**********123X (139****1234)"
    )
    assert PHONE not in record.getMessage()


def test_log_filter_removes_secrets():
    record = _record("login POST password=%s token=%s sessionid=%s", ("pw1", "tok", "sess"))
    PiiLogFilter().filter(record)
    assert record.getMessage() == "login POST password=******** token=******** sessionid=********"


def test_log_filter_masks_tracebacks():
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    PiiLogFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "bad phone 139****1234" in text
    assert PHONE not in text


def test_configured_console_handler_writes_masked_lines(settings):
    # given the handler built from settings.LOGGING, writing into a buffer
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["pii"]
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, PiiLogFilter) for f in h.filters)
    ]
    assert handlers, "the console handler carries the PII filter"
    handler = handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        # when application code logs a phone and an ID number
        logging.getLogger("kexie.accounts").warning(
            "phone %s id %s password=%s", PHONE, ID_NUMBER, "pw"
        )
    finally:
        handler.setStream(previous)
    # then the line comes out masked
    line = buffer.getvalue()
    assert "phone 139****1234 id 6542**********123X password=********" in line
    assert PHONE not in line and ID_NUMBER not in line


# --- error reports ----------------------------------------------------------------------------


def test_error_reports_use_the_pii_filter_and_reporter():
    request = RequestFactory().get("/")
    assert isinstance(get_exception_reporter_filter(request), PiiExceptionReporterFilter)
    assert get_exception_reporter_class(request) is PiiExceptionReporter


def test_error_report_hides_secrets_and_masks_personal_data(settings):
    # given a failing request that posted a phone, an ID number and a password (built at run
    # time: the report shows source lines around each frame, and those may hold literals)
    password = "-".join(["Hunter", str(2000 + 26)])
    request = RequestFactory().post(
        f"/accounts/profile/phone/?lookup={PHONE}",
        {"phone": PHONE, "note": f"id {ID_NUMBER}", "password": password},
    )
    contact = f"{PHONE} / {ID_NUMBER}"  # a local variable holding personal data
    try:
        raise ValueError(f"cannot save {contact}")
    except ValueError:
        exc_info = sys.exc_info()
    reporter = get_exception_reporter_class(request)(request, *exc_info)
    # when the report is rendered (text and HTML)
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        # then nothing of it appears unmasked
        assert PHONE not in report
        assert ID_NUMBER not in report
        assert password not in report
        assert settings.KEXIE_FIELD_KEYS not in report
    post = reporter.filter.get_post_parameters(request)
    assert post["phone"] == reporter.filter.cleansed_substitute
    assert post["password"] == reporter.filter.cleansed_substitute
    assert post["note"] == "id 6542**********123X"
