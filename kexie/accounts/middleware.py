"""Request-wide login policies: session lifetime and ending (SES-03/04), and the gates that
keep a half-logged-in user on one page (second factor AUTH-07, password change AUTH-02/10)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from kexie.core.parameters import get_param, param_is_saved

from .security import account_gate, session_rekeyed, session_state

# Where each gate sends the user, and the only pages it lets them open. Pages marked
# ``@login_not_required`` (login, activation, health, language) stay open as well.
GATES: dict[str, tuple[str, frozenset[str]]] = {
    "verify": ("accounts:otp_verify", frozenset({"accounts:otp_verify", "accounts:logout"})),
    "enrol": ("accounts:otp_setup", frozenset({"accounts:otp_setup", "accounts:logout"})),
    "password": (
        "accounts:password_change",
        frozenset({"accounts:password_change", "accounts:logout", "accounts:reauth"}),
    ),
}


class SessionPolicyMiddleware:
    """Logs out a request whose session was ended (from the sessions page, by a role change,
    a password change, disabling the account) or is older than ``KEXIE_SESSION_MAX_HOURS``.

    The idle timeout (SES-02) is Django's own: ``SESSION_COOKIE_AGE`` with
    ``SESSION_SAVE_EVERY_REQUEST``, or the ``session_idle_minutes`` parameter when one is
    saved. After the response, a session whose key changed during
    the request (password change, second factor passed) keeps its row.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = None
        key_before = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            key_before = request.session.session_key
            state = session_state(request)
            if state.end_reason:
                logout(request)
                messages.info(request, _("Your session has ended. Please log in again."))
                state = None
        # SES-02: the idle timeout a 安全管理员 set (a parameter) replaces the setting's.
        logged_in = getattr(request, "user", None) is not None and request.user.is_authenticated
        if logged_in and param_is_saved("session_idle_minutes"):
            request.session.set_expiry(get_param("session_idle_minutes") * 60)
        response = self.get_response(request)
        if state is not None and state.row is not None and request.user.is_authenticated:
            key_after = request.session.session_key
            if key_after and key_after != key_before:
                session_rekeyed(state.row, key_after)
        return response


class AccountGateMiddleware:
    """A logged-in user who still owes a step sees only that step's page: the code of their
    second factor, the enrolment of one (when ``KEXIE_REQUIRE_2FA``), or a new password
    (must change, or older than ``KEXIE_PASSWORD_MAX_AGE_DAYS``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if not getattr(view_func, "login_required", True):
            return None
        if request.path_info.startswith(settings.STATIC_URL):
            return None
        gate = account_gate(user)
        if gate is None:
            return None
        target, allowed = GATES[gate]
        match = request.resolver_match
        if match is not None and match.view_name in allowed:
            return None
        url = reverse(target)
        if request.method == "GET" and not request.headers.get("HX-Request"):
            url += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            return HttpResponseClientRedirect(url)
        return redirect(url)
