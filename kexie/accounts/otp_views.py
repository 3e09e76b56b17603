"""The second factor (AUTH-07): one's own overview, enrolment with a QR code drawn here (no
outside service sees the secret), and the code step of the login."""

from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kexie.core.audit import audit_log

from .forms import OTPEnrolForm, OTPTokenForm
from .reauth import is_recently_authenticated, mark_reauthenticated
from .security import (
    PENDING_KEY_SESSION_KEY,
    otp_check,
    otp_device_of,
    otp_enrol,
    otp_pending_key,
    recovery_codes_left,
    user_has_second_factor,
)
from .views import code_error_message, safe_next


@require_GET
def otp_overview(request):
    device = otp_device_of(request.user)
    context = {
        "device": device,
        "codes_left": recovery_codes_left(request.user) if device else 0,
        "required": settings.KEXIE_REQUIRE_2FA,
    }
    return render(request, "accounts/otp.html", context)


def _qr_svg(device: TOTPDevice) -> str:
    # The SVG is drawn by segno from our own otpauth:// URL: paths only, no user text.
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff", svgclass="kexie-qr"
    )
    return mark_safe(svg)  # noqa: S308


def _grouped_secret(key: str) -> str:
    secret = b32encode(unhexlify(key)).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
def otp_setup(request):
    """Enrol an authenticator app: scan, type one code, write down the recovery codes.

    Replacing an existing device is a change of the second factor: it needs a fresh
    re-authentication (AUTH-09) with the old device's code.
    """
    user = request.user
    replacing = user_has_second_factor(user)
    if replacing and not is_recently_authenticated(request):
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:reauth')}?{query}")
    next_url = safe_next(request, reverse("accounts:otp"))
    key = otp_pending_key(request.session)
    form = OTPEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = otp_enrol(
            user=user,
            key=key,
            token=form.cleaned_data["token"],
            keep_session_key=request.session.session_key,
        )
        if result.ok:
            request.session.pop(PENDING_KEY_SESSION_KEY, None)
            otp_login(request, result.device)
            request.session.cycle_key()  # SES-01: a new key with the new privilege
            # Shown once, in this answer only (no-store): never stored in plain text.
            return render(
                request,
                "accounts/otp_recovery_codes.html",
                {"codes": result.recovery_codes, "next": next_url},
            )
        form.add_error("token", code_error_message(result))
    device = TOTPDevice(user=user, key=key, name="TOTP")
    context = {
        "form": form,
        "qr_svg": _qr_svg(device),
        "secret": _grouped_secret(key),
        "replacing": replacing,
        "next": next_url,
    }
    return render(request, "accounts/otp_setup.html", context)


@require_http_methods(["GET", "POST"])
def otp_verify(request):
    """Step two of the login: a code from the app or a recovery code."""
    user = request.user
    next_url = safe_next(request)
    if user.is_verified() or not user_has_second_factor(user):
        return redirect(next_url)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = otp_check(user=user, token=form.cleaned_data["token"], purpose="login")
        if check.ok:
            otp_login(request, check.device)
            request.session.cycle_key()  # SES-01: a new key with the new privilege
            mark_reauthenticated(request)
            audit_log(
                actor=user,
                event_type="auth.login",
                obj=user,
                details={"second_factor": check.method},
            )
            if check.method == "recovery_code":
                left = recovery_codes_left(user)
                text = ngettext(
                    "You used a recovery code; %(left)d is left. Set up your authenticator "
                    "app again to get new ones.",
                    "You used a recovery code; %(left)d are left. Set up your authenticator "
                    "app again to get new ones.",
                    left,
                )
                messages.warning(request, text % {"left": left})
            return redirect(next_url)
        form.add_error("token", code_error_message(check))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": next_url})
