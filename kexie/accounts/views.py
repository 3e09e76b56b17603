"""Login, logout, password change and account activation."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from kexie.core.audit import audit_log

from .forms import LoginForm, StyledPasswordChangeForm, StyledSetPasswordForm
from .reauth import mark_reauthenticated


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_log(actor=self.request.user, event_type="auth.login", obj=self.request.user)
        return response

    def form_invalid(self, form):
        audit_log(
            actor=None,
            event_type="auth.login_failed",
            object_repr=(form.data.get("username") or "")[:150],
            outcome="failure",
        )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            audit_log(actor=request.user, event_type="auth.logout", obj=request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = StyledPasswordChangeForm
    success_url = reverse_lazy("portal:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        if user.must_change_password:
            user.must_change_password = False
            user.save(update_fields=["must_change_password"])
        audit_log(actor=user, event_type="account.password_change", obj=user)
        messages.success(self.request, _("Your password has been changed."))
        return response


@method_decorator(login_not_required, name="dispatch")
class ActivateView(auth_views.PasswordResetConfirmView):
    """AUTH-10: the activation link lets a new account set its own first password."""

    template_name = "accounts/activate.html"
    form_class = StyledSetPasswordForm
    post_reset_login = False
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        audit_log(actor=user, event_type="account.activate", obj=user)
        messages.success(self.request, _("Your password is set. Please log in."))
        return response


class ReauthForm(forms.Form):
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)

    def __init__(self, *args, user, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["password"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "current-password", "autofocus": True}
        )

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is wrong."))
        return password


def reauth_view(request):
    """Confirm the password before a sensitive action (AUTH-09); audited either way."""
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    form = ReauthForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            mark_reauthenticated(request)
            audit_log(actor=request.user, event_type="auth.reauth", obj=request.user)
            return redirect(next_url)
        audit_log(actor=request.user, event_type="auth.reauth", obj=request.user, outcome="failure")
    return render(request, "accounts/reauth.html", {"form": form, "next": next_url})
