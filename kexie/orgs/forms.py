from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kexie.core.forms import StyledFormMixin
from kexie.core.models import Region
from kexie.core.validators import uscc_validator

from .choices import OrganisationKind
from .models import Organisation


def regions_within(region: Region):
    """Regions inside ``region`` (itself included), current ones first by code."""
    if region.level == "prefecture":
        prefix = region.code[:4]
    elif region.level == "county":
        prefix = region.code[:6]
    else:
        return Region.objects.filter(pk=region.pk)
    return Region.objects.filter(code__gte=prefix, code__lt=prefix[:-1] + chr(ord(prefix[-1]) + 1))


class OrganisationForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    short_name = forms.CharField(label=_("Short name"), max_length=40, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrganisationKind.choices)
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("An association at a region uses KX + the region code, e.g. KX654221."),
    )
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.none())
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        validators=[uscc_validator],  # reported with the other fields, not after them
    )
    contact_person = forms.CharField(label=_("Contact person"), max_length=40, required=False)
    contact_phone = forms.CharField(label=_("Office telephone"), max_length=32, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)

    def __init__(self, *args, parent: Organisation | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if parent is not None:
            self.fields["region"].queryset = regions_within(parent.region)
        else:
            self.fields["region"].queryset = Region.objects.all()
        self.fields["region"].label_from_instance = lambda r: f"{r.code} {r.name}"


class MoveForm(StyledFormMixin, forms.Form):
    new_parent_code = forms.CharField(
        label=_("Code of the new parent organisation"),
        max_length=32,
    )


class DissolveForm(StyledFormMixin, forms.Form):
    on_date = forms.DateField(
        label=_("Dissolved on"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
