"""The form a prefecture reviewer sets a registration target with."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TargetForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    target = forms.IntegerField(
        label=_("Target (verified registrations)"), min_value=0, max_value=10_000_000
    )
