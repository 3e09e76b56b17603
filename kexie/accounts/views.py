"""Login, logout, password change, account activation and re-authentication."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kexie.core.audit import audit_log
from kexie.core.parameters import axes_cooloff_time

from .forms import LoginForm, ReauthForm, StyledPasswordChangeForm, StyledSetPasswordForm
from .reauth import mark_reauthenticated
from .security import otp_check, password_change_required, user_has_second_factor, user_set_password


def safe_next(request, default: str = "/") -> str:
    """The ``next`` parameter when it points inside this site (WEB-07), else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + "?" + urlencode({"next": next_url})


class LoginView(auth_views.LoginView):
    """Step one of the login: the password. A user with a second factor goes on to the code
    page and counts as logged in (``auth.login``) only after it; when ``KEXIE_REQUIRE_2FA``,
    a user without one goes on to enrolment. The lock-out (AUTH-04) is django-axes'."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        needs_code = user_has_second_factor(user)
        response = super().form_valid(form)  # SES-01: django.contrib.auth.login cycles the key
        if needs_code:
            return redirect(_with_next("accounts:otp_verify", self.get_success_url()))
        audit_log(actor=user, event_type="auth.login", obj=user)
        mark_reauthenticated(self.request)
        if settings.KEXIE_REQUIRE_2FA:
            return redirect(_with_next("accounts:otp_setup", self.get_success_url()))
        return response

    def form_invalid(self, form):
        audit_log(
            actor=None,
            event_type="auth.login_failed",
            object_repr=(form.data.get("username") or "")[:150],
            outcome="failure",
        )
        return super().form_invalid(form)


def lockout_response(request, original_response=None, credentials=None):
    """AUTH-04 / AUTH-11: django-axes' answer to a locked username + address. The same page
    for every username, existing or not, and nothing about which it was."""
    minutes = int(axes_cooloff_time().total_seconds() // 60)
    response = render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            audit_log(actor=request.user, event_type="auth.logout", obj=request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; also the forced page for an expired or first password."""

    template_name = "accounts/password_change.html"
    form_class = StyledPasswordChangeForm
    success_url = reverse_lazy("portal:dashboard")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["forced"] = password_change_required(user)
        context["must_change"] = user.must_change_password
        context["next"] = safe_next(self.request, "")
        return context

    def form_valid(self, form):
        user = form.user
        user_set_password(
            actor=user,
            user=user,
            raw=form.cleaned_data["new_password1"],
            keep_session_key=self.request.session.session_key,
        )
        update_session_auth_hash(self.request, user)  # keeps this session, with a new key
        messages.success(self.request, _("Your password has been changed."))
        return HttpResponseRedirect(safe_next(self.request, str(self.success_url)))


@method_decorator(login_not_required, name="dispatch")
class ActivateView(auth_views.PasswordResetConfirmView):
    """AUTH-10: the activation link lets a new account set its own first password.

    It never logs in: the person logs in afterwards, second factor included (AUTH-07).
    """

    template_name = "accounts/activate.html"
    form_class = StyledSetPasswordForm
    post_reset_login = False
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        user = form.user
        user_set_password(
            actor=user,
            user=user,
            raw=form.cleaned_data["new_password1"],
            event_type="account.activate",
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, _("Your password is set. Please log in."))
        return HttpResponseRedirect(self.get_success_url())


def reauth_view(request):
    """Confirm the password — and the second factor's code, when the account has one —
    before a sensitive action (AUTH-09); audited either way."""
    next_url = safe_next(request)
    user = request.user
    needs_code = user_has_second_factor(user)
    form = ReauthForm(request.POST or None, needs_code=needs_code)
    if request.method == "POST":
        if form.is_valid():
            if not user.check_password(form.cleaned_data["password"]):
                form.add_error("password", _("The password is wrong."))
            elif needs_code:
                check = otp_check(user=user, token=form.cleaned_data["token"], purpose="reauth")
                if not check.ok:
                    form.add_error("token", code_error_message(check))
        if form.is_valid():
            mark_reauthenticated(request)
            audit_log(actor=user, event_type="auth.reauth", obj=user)
            return redirect(next_url)
        audit_log(actor=user, event_type="auth.reauth", obj=user, outcome="failure")
    return render(
        request, "accounts/reauth.html", {"form": form, "next": next_url, "needs_code": needs_code}
    )


def code_error_message(check) -> str:
    if check.throttled:
        return _("Too many wrong codes. Wait a moment, then try again.")
    return _("The code is wrong or has already been used.")
