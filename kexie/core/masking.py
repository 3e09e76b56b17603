"""Masking of personal data for display, logs and error reports (PI-05, AUD-03).

Pages, exports and notifications show ``138****5678`` and ``6542**********123X``; the full value
is shown only through an audited reveal (AC-04, ``accounts.pii.user_phone_reveal``).

Two safety nets catch what a developer forgot to mask:

- ``PiiLogFilter`` (attached to every handler in ``settings.LOGGING``) masks phone and ID number
  patterns in log messages, their arguments and tracebacks, and blanks the values of
  ``password=…``, ``token=…``, ``sessionid=…`` and similar pairs.
- ``PiiExceptionReporterFilter`` / ``PiiExceptionReporter`` (``DEFAULT_EXCEPTION_REPORTER_FILTER``
  and ``DEFAULT_EXCEPTION_REPORTER``) do the same for Django's error reports: settings, request
  metadata, POST values, frame variables and the exception message.

This module is imported while logging is configured (before the app registry is ready), so it
imports no models.
"""

from __future__ import annotations

import logging
import pprint
import re
from collections.abc import Callable

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

MASK_CHAR = "*"

# --- Values -----------------------------------------------------------------------------------


def _keep_ends(value: str, head: int, tail: int) -> str:
    """``value`` with everything but ``head`` leading and ``tail`` trailing characters masked.

    At least half of the characters are always masked, so a short value never shows most of
    itself.
    """
    length = len(value)
    if length == 0:
        return ""
    visible = max(0, min(head + tail, length // 2))
    head = min(head, visible)
    tail = min(tail, visible - head)
    return (
        value[:head] + MASK_CHAR * (length - head - tail) + (value[length - tail :] if tail else "")
    )


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def mask_phone(value) -> str:
    """``13812345678`` → ``138****5678``; other numbers keep at most their first 3 and last 4."""
    from kexie.core.validators import normalise_mobile

    text = _text(value)
    if not text:
        return ""
    normalised = normalise_mobile(text)
    if _MOBILE_FULL_RE.match(normalised):
        return normalised[:3] + MASK_CHAR * 4 + normalised[7:]
    return _keep_ends(text, 3, 4)


def mask_id_number(value) -> str:
    """``65422119900101123X`` → ``6542**********123X`` (first 4, last 4 of an 18-character ID).

    A 15-digit first-generation number keeps its first 4 and last 3 (the birth date is hidden);
    anything else keeps at most a quarter of its characters at each end, never more than 4.
    """
    from kexie.core.validators import normalise_id_number

    text = _text(value)
    if not text:
        return ""
    normalised = normalise_id_number(text)
    if len(normalised) == 18:
        return normalised[:4] + MASK_CHAR * 10 + normalised[14:]
    if len(normalised) == 15:
        return normalised[:4] + MASK_CHAR * 8 + normalised[12:]
    keep = min(4, len(normalised) // 4)
    return _keep_ends(normalised, keep, keep)


def mask_email(value) -> str:
    """``zhangsan@example.cn`` → ``z*******@example.cn``: the first character and the domain."""
    text = _text(value)
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    if not at:
        return _keep_ends(text, 1, 0)
    if not local:
        return MASK_CHAR + "@" + domain
    return local[0] + MASK_CHAR * max(len(local) - 1, 1) + "@" + domain


def mask_name(value) -> str:
    """A person's name keeps its first character: ``张三丰`` → ``张**``, ``Li Lei`` → ``L*****``."""
    text = _text(value)
    if not text:
        return ""
    if len(text) == 1:
        return MASK_CHAR
    return text[0] + MASK_CHAR * (len(text) - 1)


MASKERS: dict[str, Callable[[object], str]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "email": mask_email,
    "name": mask_name,
}


def mask_value(kind: str, value) -> str:
    """Mask ``value`` as ``kind`` (``phone``, ``id_number``, ``email``, ``name``)."""
    try:
        masker = MASKERS[kind]
    except KeyError:
        raise ValueError(f"unknown kind of personal data: {kind!r}") from None
    return masker(value)


# --- Free text (logs, error reports) ----------------------------------------------------------

_MOBILE_FULL_RE = re.compile(r"^1[3-9]\d{9}$")
# An ID number: 17 digits and a check character, or 15 digits; not part of a longer number.
_ID_IN_TEXT_RE = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])")
# A mainland mobile, optionally with +86 / 0086 and the usual 3-4-4 separators.
_MOBILE_IN_TEXT_RE = re.compile(
    r"(?<!\d)(?:(?:\+|00)86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"
)
# ``key=value`` / ``key: value`` / ``"key": "value"`` where the key names a secret (AUD-03).
HIDDEN_KEY_PATTERN = (
    r"[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|sessionid|session_id|session_key"
    r"|api[_-]?key|otp|totp|recovery_code|verification_code|sms_code|authorization)[\w.-]*"
)
_SECRET_PAIR_RE = re.compile(
    r"(?<![\w.-])(?P<key>[\"']?" + HIDDEN_KEY_PATTERN + r"[\"']?)"
    r"(?P<sep>\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|(?:Bearer|Basic|Token)\s+[^\s&,;\"'}\]\)]+"
    r"|[^\s&,;\"'}\]\)]+)",
    re.IGNORECASE,
)
REDACTED = "********"


def _mask_id_match(match: re.Match) -> str:
    return mask_id_number(match.group(0))


def _mask_mobile_match(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))[-11:]
    return digits[:3] + MASK_CHAR * 4 + digits[7:]


def _redact_pair(match: re.Match) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{match.group('sep')}{quote}{REDACTED}{quote}"


def mask_text(text: str) -> str:
    """Mask every phone and ID number pattern in free text and blank secret ``key=value`` pairs.

    Errs on the side of masking: a 15-digit number that is not an ID number is masked too.
    """
    if not text:
        return text
    text = str(text)
    text = _SECRET_PAIR_RE.sub(_redact_pair, text)
    text = _ID_IN_TEXT_RE.sub(_mask_id_match, text)
    return _MOBILE_IN_TEXT_RE.sub(_mask_mobile_match, text)


# --- Logging (AUD-03) -------------------------------------------------------------------------


class PiiLogFilter(logging.Filter):
    """Masks personal data and secrets in a record before any handler writes it.

    The message is rendered (``msg % args``) and masked as a whole, so a phone number passed as
    an argument of any type (``%s`` of an int, of a model instance …) is caught; tracebacks are
    rendered and masked into ``exc_text``, which formatters use as they find it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


# --- Error reports (AUD-03, PI-05) ------------------------------------------------------------

_SENSITIVE_NAME_RE = re.compile(
    HIDDEN_KEY_PATTERN + r"|phone|mobile|id_number|idcard|id_card|identity|passport"
    r"|csrfmiddlewaretoken|^code$",
    re.IGNORECASE,
)


class _MaskedRepr:
    """Shows a frame variable in an error report through ``mask_text`` of its usual repr."""

    def __init__(self, value) -> None:
        self.value = value

    def __repr__(self) -> str:
        try:
            text = pprint.pformat(self.value)
        except Exception as exc:  # noqa: BLE001 - mirrors django.template.defaultfilters.pprint
            text = f"Error in formatting: {exc.__class__.__name__}: {exc}"
        return mask_text(text)


class PiiExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: phone / ID number / secret names hidden; all other text masked.

    Active with ``DEBUG`` on as well: a debug page on a copy of real data must not show it.
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|PHONE|MOBILE|ID_NUMBER|IDCARD"
        "|DATABASE_URL|DSN",
        flags=re.IGNORECASE,
    )

    def is_active(self, request) -> bool:
        return True

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if type(cleansed) is str:  # not lazy or other str-like setting objects
            return mask_text(cleansed)
        return cleansed

    def get_post_parameters(self, request):
        if request is None:
            return {}
        cleansed = super().get_post_parameters(request).copy()
        for key in list(cleansed.keys()):
            if _SENSITIVE_NAME_RE.search(key):
                cleansed.setlist(key, [self.cleansed_substitute])
            else:
                cleansed.setlist(key, [mask_text(str(v)) for v in cleansed.getlist(key)])
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(value, str) and value == self.cleansed_substitute:
                variables.append((name, value))
            elif isinstance(name, str) and _SENSITIVE_NAME_RE.search(name):
                variables.append((name, self.cleansed_substitute))
            else:
                variables.append((name, _MaskedRepr(value)))
        return variables


class PiiExceptionReporter(ExceptionReporter):
    """Masks what the filter does not reach: the exception message and its causes, the URL and
    the query string. (The path itself never holds personal data: API-06.)"""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        for key in ("exception_value", "exception_notes", "request_insecure_uri"):
            if data.get(key):
                data[key] = mask_text(str(data[key]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = mask_text(str(frame["exc_cause"]))
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (key, self.filter.cleansed_substitute)
                if _SENSITIVE_NAME_RE.search(key)
                else (key, mask_text(str(value)))
                for key, value in data["request_GET_items"]
            ]
        return data


__all__ = [
    "MASKERS",
    "PiiExceptionReporter",
    "PiiExceptionReporterFilter",
    "PiiLogFilter",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_text",
    "mask_value",
]
