from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from kexie.core.forms import StyledFormMixin


class LoginForm(StyledFormMixin, AuthenticationForm):
    """The same answer whether the username exists or not (AUTH-11)."""

    error_messages = {
        "invalid_login": _("The username or password is wrong."),
        "inactive": _("The username or password is wrong."),
    }

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class StyledPasswordChangeForm(StyledFormMixin, PasswordChangeForm):
    pass


class StyledSetPasswordForm(StyledFormMixin, SetPasswordForm):
    pass
