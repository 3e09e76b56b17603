"""Forms of the public registration and self-service pages (phone-first)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kexie.core.choices import CodeTable
from kexie.core.codetables import code_choices

from .choices import SubjectRequestKind
from .registration import township_choices, township_get

HONEYPOT_FIELD = "website"


def _blank(choices):
    return [("", "—"), *choices]


class RegistrationForm(forms.Form):
    """Self-registration. Consent boxes start unticked (PI-02, PI-03); ``website`` is a honeypot
    hidden by a CSS class (REG-01)."""

    name = forms.CharField(label=_("Name"), max_length=60)
    gender = forms.ChoiceField(label=_("Gender"), required=False)
    ethnicity = forms.ChoiceField(label=_("Ethnic group"), required=False)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    township = forms.ChoiceField(label=_("Township or street where you live"))
    employer_text = forms.CharField(label=_("Employer"), max_length=120, required=False)
    worker_type = forms.ChoiceField(label=_("Kind of work"), required=False)
    title = forms.ChoiceField(label=_("Professional title"), required=False)
    education = forms.ChoiceField(label=_("Highest education"), required=False)
    id_number = forms.CharField(
        label=_("ID number (optional)"),
        max_length=20,
        required=False,
        help_text=_("Only if you want to give it; it needs the separate consent below."),
    )
    consent_privacy = forms.BooleanField(
        label=_("I have read the privacy notice and agree to it."), required=False
    )
    consent_id = forms.BooleanField(
        label=_(
            "I agree that my ID number, which is sensitive personal information, is "
            "collected for checking my identity."
        ),  # fmt: skip
        required=False,
    )
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    with_consents = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gender"].choices = _blank(code_choices(CodeTable.GENDER))
        self.fields["ethnicity"].choices = _blank(code_choices(CodeTable.ETHNICITY))
        self.fields["worker_type"].choices = _blank(code_choices(CodeTable.WORKER_TYPE))
        self.fields["title"].choices = _blank(code_choices(CodeTable.TITLE))
        self.fields["education"].choices = _blank(code_choices(CodeTable.EDUCATION))
        self.fields["township"].choices = [("", "—"), *township_choices()]
        self.fields[HONEYPOT_FIELD].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        for field in self.fields.values():
            if isinstance(field, forms.BooleanField):
                field.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select")
            else:
                field.widget.attrs.setdefault("class", "form-control")
        if not self.with_consents:
            del self.fields["consent_privacy"]
            del self.fields[HONEYPOT_FIELD]

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD))

    def person_data(self) -> dict:
        data = {
            key: self.cleaned_data.get(key)
            for key in (
                "name",
                "gender",
                "ethnicity",
                "birth_date",
                "phone",
                "employer_text",
                "worker_type",
                "title",
                "education",
                "id_number",
            )
        }
        data["employer_text"] = data["employer_text"] or ""
        data["id_number"] = data["id_number"] or ""
        data["township"] = township_get(self.cleaned_data.get("township"))
        return data


class CorrectionForm(RegistrationForm):
    """A returned record corrected by the person (no privacy box: it was given already)."""

    with_consents = False


class StatusLookupForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "class": "form-control"}
        ),
    )
    code = forms.CharField(
        label=_("Status code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "form-control"}),
    )


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "class": "form-control"}
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "class": "form-control",
            }
        ),
    )


class SelfRequestForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (SubjectRequestKind.CORRECTION, SubjectRequestKind.CORRECTION.label),
            (SubjectRequestKind.DELETION, SubjectRequestKind.DELETION.label),
        ],
        widget=forms.HiddenInput,
    )
    details = forms.CharField(
        label=_("What should be corrected?"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
