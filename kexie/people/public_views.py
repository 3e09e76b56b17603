"""Public pages of the talent registry, without a staff login (under /register/).

Self-registration (REG-01, REG-02, REG-04, PI-02..PI-04), the status look-up with the status
code, and the self-service pages where a person signs in with a code sent to their phone and
sees, downloads, corrects, withdraws consent to or asks to delete their record (PI-08).

Every page answers ``no-store``. Nothing on them tells whether a phone or ID number is
already registered (AUTH-11).
"""

from __future__ import annotations

import json
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kexie.core.audit import client_ip
from kexie.core.parameters import get_param

from .choices import ReviewStatus, SubjectRequestKind
from .identity import phone_index_of
from .public_forms import (
    CodeForm,
    CorrectionForm,
    PhoneForm,
    RegistrationForm,
    SelfRequestForm,
    StatusLookupForm,
)
from .registration import (
    LIMIT_OTP_VERIFY_IP,
    LIMIT_POST_IP,
    LIMIT_REGISTER_IP,
    LIMIT_REGISTER_PHONE,
    LIMIT_STATUS_IP,
    code_names,
    consent_withdraw,
    format_status_code,
    new_status_code,
    otp_send,
    otp_verify,
    own_record_get,
    own_records,
    rate_limit_peek,
    rate_limited,
    register_self,
    registration_resubmit,
    returned_reason,
    status_lookup,
    status_person,
    subject_access_log,
    subject_data,
    subject_request_create,
)

STATUS_SESSION_KEY = "kexie_register_status"
SELF_SESSION_KEY = "kexie_self_service"
SESSION_MINUTES = 30


def _public(view):
    return login_not_required(never_cache(view))


def _ip(request: HttpRequest) -> str:
    return client_ip(request) or ""


def _try_later(request: HttpRequest) -> HttpResponse:
    return render(request, "people/public/try_later.html", status=429)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _received(request: HttpRequest, code: str) -> HttpResponse:
    return render(request, "people/public/received.html", {"code": format_status_code(code)})


def _phone_key(raw: str) -> str:
    try:
        return phone_index_of(raw)
    except ValidationError:
        return raw or ""


def _sign_in(request: HttpRequest, key: str, value: dict) -> None:
    """Start a fresh self-service session (new session key: no fixation)."""
    request.session.cycle_key()
    request.session[key] = {**value, "exp": time.time() + SESSION_MINUTES * 60}


def _signed_in(request: HttpRequest, key: str) -> dict | None:
    value = request.session.get(key)
    if not value or value.get("exp", 0) < time.time():
        request.session.pop(key, None)
        return None
    return value


# --- registration -----------------------------------------------------------------------------


@_public
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        ip = _ip(request)
        if form.is_bot():
            # REG-01: a bot sees the normal answer, and nothing is stored.
            return _received(request, new_status_code())
        if rate_limited("register_post", ip, LIMIT_POST_IP):
            return _try_later(request)
        if form.is_valid():
            data = form.person_data()
            phone_key = _phone_key(data["phone"])
            if rate_limit_peek("register_ip", ip, LIMIT_REGISTER_IP) or rate_limit_peek(
                "register_phone", phone_key, LIMIT_REGISTER_PHONE
            ):
                return _try_later(request)
            try:
                receipt = register_self(
                    data=data,
                    consent_privacy=form.cleaned_data["consent_privacy"],
                    consent_id=form.cleaned_data["consent_id"],
                    ip=ip or None,
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                rate_limited("register_ip", ip, LIMIT_REGISTER_IP)
                rate_limited("register_phone", phone_key, LIMIT_REGISTER_PHONE)
                return _received(request, receipt.status_code)
    return render(
        request,
        "people/public/register.html",
        {"form": form, "notice_version": get_param("privacy_notice_version")},
    )


# --- status look-up ---------------------------------------------------------------------------


@_public
@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    form = StatusLookupForm(request.POST or None)
    if request.method == "POST":
        if rate_limited("status_ip", _ip(request), LIMIT_STATUS_IP):
            return _try_later(request)
        if form.is_valid():
            person = status_lookup(phone=form.cleaned_data["phone"], code=form.cleaned_data["code"])
            if person is not None:
                _sign_in(request, STATUS_SESSION_KEY, {"pk": person.pk})
                return redirect("register:status_detail")
            form.add_error(
                None, _("The mobile number and status code do not match a registration.")
            )
    return render(request, "people/public/status.html", {"form": form})


def _status_person(request: HttpRequest):
    value = _signed_in(request, STATUS_SESSION_KEY)
    if value is None:
        return None
    return status_person(value["pk"])


@_public
@require_GET
def status_detail(request: HttpRequest) -> HttpResponse:
    person = _status_person(request)
    if person is None:
        return redirect("register:status")
    form = None
    if person.review_status == ReviewStatus.RETURNED:
        form = CorrectionForm(initial=_initial(person))
    return _status_page(request, person, form)


def _initial(person) -> dict:
    return {
        "name": person.name,
        "gender": person.gender,
        "ethnicity": person.ethnicity,
        "birth_date": person.birth_date,
        "phone": person.phone,
        "township": person.township_id,
        "employer_text": person.employer_text,
        "worker_type": person.worker_type,
        "title": person.title,
        "education": person.education,
        "id_number": person.id_number,
    }


def _status_page(request, person, form) -> HttpResponse:
    return render(
        request,
        "people/public/status_detail.html",
        {"person": person, "reason": returned_reason(person), "form": form},
    )


@_public
@require_POST
def resubmit(request: HttpRequest) -> HttpResponse:
    person = _status_person(request)
    if person is None:
        return redirect("register:status")
    form = CorrectionForm(request.POST)
    if form.is_valid():
        try:
            registration_resubmit(
                person=person,
                data=form.person_data(),
                consent_id=form.cleaned_data["consent_id"],
                ip=_ip(request) or None,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Thank you. Your corrected registration was sent."))
            return redirect("register:status_detail")
    return _status_page(request, person, form)


# --- self-service sign-in (PI-08) -------------------------------------------------------------


@_public
@require_http_methods(["GET", "POST"])
def me(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and _signed_in(request, SELF_SESSION_KEY):
        return redirect("register:me_record")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            sent = otp_send(phone=phone, ip=_ip(request) or None)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if not sent:
                return _try_later(request)
            return render(
                request,
                "people/public/me_code.html",
                {"form": CodeForm(), "phone": phone},
            )
    return render(request, "people/public/me.html", {"form": form})


@_public
@require_POST
def me_verify(request: HttpRequest) -> HttpResponse:
    if rate_limited("otp_verify", _ip(request), LIMIT_OTP_VERIFY_IP):
        return _try_later(request)
    phone = (request.POST.get("phone") or "")[:20]
    form = CodeForm(request.POST)
    if form.is_valid():
        ids = otp_verify(phone=phone, code=form.cleaned_data["code"])
        if ids:
            _sign_in(request, SELF_SESSION_KEY, {"ids": ids})
            return redirect("register:me_record")
        form.add_error(None, _("The code is wrong or has expired. Ask for a new code."))
    return render(request, "people/public/me_code.html", {"form": form, "phone": phone})


def _own_ids(request: HttpRequest) -> list[int] | None:
    value = _signed_in(request, SELF_SESSION_KEY)
    return list(value["ids"]) if value else None


@_public
@require_GET
def me_record(request: HttpRequest) -> HttpResponse:
    ids = _own_ids(request)
    if ids is None:
        return redirect("register:me")
    records = list(own_records(ids))
    for person in records:
        person.code_names = code_names(person)
        person.active_consents = [c for c in person.consents.all() if c.withdrawn_at is None]
        subject_access_log(person=person, what="view")
    return render(
        request,
        "people/public/me_record.html",
        {"records": records, "request_form": SelfRequestForm()},
    )


@_public
@require_GET
def me_download(request: HttpRequest) -> HttpResponse:
    ids = _own_ids(request)
    if ids is None:
        return redirect("register:me")
    person = own_record_get(ids, request.GET.get("record"))
    subject_access_log(person=person, what="download")
    body = json.dumps(subject_data(person), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kexie-record-{person.pk}.json"'
    return response


@_public
@require_POST
def me_request(request: HttpRequest) -> HttpResponse:
    ids = _own_ids(request)
    if ids is None:
        return redirect("register:me")
    person = own_record_get(ids, request.POST.get("record"))
    form = SelfRequestForm(request.POST)
    if form.is_valid():
        try:
            subject_request_create(
                actor=None,
                person=person,
                kind=form.cleaned_data["kind"],
                details=form.cleaned_data["details"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if form.cleaned_data["kind"] == SubjectRequestKind.DELETION:
                messages.success(
                    request,
                    _(
                        "Your request to delete your data was received. The association will "
                        "handle it and answer you."
                    ),  # fmt: skip
                )
            else:
                messages.success(
                    request,
                    _("Your correction request was received. The association will check it."),
                )
    else:
        messages.error(request, _("The request could not be sent."))
    return redirect("register:me_record")


@_public
@require_POST
def me_withdraw(request: HttpRequest) -> HttpResponse:
    ids = _own_ids(request)
    if ids is None:
        return redirect("register:me")
    person = own_record_get(ids, request.POST.get("record"))
    if consent_withdraw(person=person):
        messages.success(
            request,
            _(
                "Your consent was withdrawn. A self-registered record is deleted after 30 days "
                "unless the law requires keeping it."
            ),  # fmt: skip
        )
    return redirect("register:me_record")


@_public
@require_POST
def me_signout(request: HttpRequest) -> HttpResponse:
    request.session.pop(SELF_SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("register:me")
