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


class OTPTokenForm(StyledFormMixin, forms.Form):
    """A code from the authenticator app, or one of the recovery codes (AUTH-07)."""

    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("The 6-digit code your authenticator app shows, or a recovery code."),
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "spellcheck": "false",
            }
        ),
    )


class OTPEnrolForm(StyledFormMixin, forms.Form):
    token = forms.CharField(
        label=_("Code from the app"),
        max_length=8,
        help_text=_("Enter the 6-digit code the app shows for this account."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class ReauthForm(StyledFormMixin, forms.Form):
    """The password again, and a code when the account has a second factor (AUTH-09).

    Only the shape is checked here; the view checks the password and the code.
    """

    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("The 6-digit code your authenticator app shows, or a recovery code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, needs_code: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not needs_code:
            del self.fields["token"]
