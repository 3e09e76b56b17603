"""Forms of the 系统管理员 / 安全管理员 pages. Validation of rules lives in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kexie.core.forms import StyledFormMixin

from .roles import Role


class AccountCreateForm(StyledFormMixin, forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Personal, e.g. pinyin of the name; never a shared name like admin."),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=60)
    email = forms.EmailField(label=_("Email"), required=False)


class AccountDisableForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AccountEnableForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class RoleGrantForm(StyledFormMixin, forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    organisation_code = forms.CharField(
        label=_("Organisation code"),
        max_length=32,
        help_text=_("The code shown on the organisation's page, e.g. KX654221."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class UnlockForm(forms.Form):
    username = forms.CharField(max_length=255)
