"""Forms of the staff pages of the talent registry. Validation of the values themselves lives in
``services.person_clean``; these forms only shape what the browser sends."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can
from kexie.core.choices import CodeTable, TitleLevel
from kexie.core.forms import StyledFormMixin
from kexie.core.models import Region
from kexie.orgs.models import Organisation

from .choices import ContactChannel, EmployerCategory
from .filters import code_table_choices
from .services import CODE_FIELDS, REVEAL_REASON_MAX_LENGTH, SENSITIVE_FIELDS

BLANK = [("", "—")]
KEEP_STORED = _("Leave empty to keep the stored value.")
_DATE = {"type": "date"}


def _code_field(label, table: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, required=False, choices=lambda: BLANK + code_table_choices(table)
    )


def responsible_organisations() -> dict[int, Organisation]:
    """REG-02 for every current township at once: township id → responsible organisation
    (its township association, else its county's), in two queries."""
    townships = list(Region.objects.filter(level="township", valid_to__isnull=True))
    by_township: dict[int, Organisation] = {}
    by_county: dict[int, Organisation] = {}
    orgs = Organisation.objects.active().filter(
        kind__in=["township_association", "county_association"]
    )
    for org in orgs.order_by("-path"):  # the first by path wins, as in the service
        target = by_township if org.kind == "township_association" else by_county
        target[org.region_id] = org
    result = {}
    for township in townships:
        org = by_township.get(township.pk) or by_county.get(township.parent_id)
        if org is not None:
            result[township.pk] = org
    return result


def township_choices(user, action: str, keep: Region | None = None) -> list:
    """Current townships whose responsible organisation lies in ``user``'s scope for
    ``action``, grouped by county; ``keep`` (the current value) is always offered."""
    responsible = responsible_organisations()
    groups: dict[str, list[tuple[str, str]]] = {}
    rows = (
        Region.objects.filter(level="township", valid_to__isnull=True)
        .select_related("parent")
        .order_by("code")
    )
    for township in rows:
        org = responsible.get(township.pk)
        allowed = org is not None and can(user, action, org)
        if allowed or (keep is not None and keep.pk == township.pk):
            county = township.parent.name if township.parent_id else ""
            groups.setdefault(county, []).append((str(township.pk), township.name))
    if keep is not None and keep.valid_to is not None:
        groups.setdefault("", []).append((str(keep.pk), keep.name))
    return BLANK + list(groups.items())


class PersonForm(StyledFormMixin, forms.Form):
    """The fields of ``services.PERSON_FIELDS``. When editing, the ID number, phone and e-mail
    start empty (never pre-filled: PI-05) and are only changed when something is typed."""

    name = forms.CharField(label=_("Full name"), max_length=60)
    gender = _code_field(_("Gender"), CodeTable.GENDER)
    ethnicity = _code_field(_("Ethnic group"), CodeTable.ETHNICITY)
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs=_DATE)
    )
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    political_status = _code_field(_("Political status"), CodeTable.POLITICAL_STATUS)
    education = _code_field(_("Highest education"), CodeTable.EDUCATION)
    degree = _code_field(_("Degree"), CodeTable.DEGREE)
    school = forms.CharField(label=_("Graduated from"), max_length=100, required=False)
    major = forms.CharField(label=_("Major"), max_length=100, required=False)
    title = _code_field(_("Professional title"), CodeTable.TITLE)
    title_level = forms.ChoiceField(
        label=_("Title level"),
        required=False,
        choices=BLANK + list(TitleLevel.choices),
        help_text=_("Filled in from the professional title when left empty."),
    )
    employer = forms.ModelChoiceField(
        label=_("Employer"),
        required=False,
        queryset=Organisation.objects.none(),
        help_text=_("An organisation in the dictionary; else type the name below."),
    )
    employer_text = forms.CharField(
        label=_("Employer (as typed)"),
        max_length=120,
        required=False,
        help_text=_("Used while the employer is not in the organisation dictionary."),
    )
    employer_category = forms.ChoiceField(
        label=_("Employer category"),
        required=False,
        choices=BLANK + list(EmployerCategory.choices),
    )
    post = forms.CharField(label=_("Administrative post"), max_length=60, required=False)
    township = forms.ChoiceField(
        label=_("Township"),
        required=False,
        help_text=_("Decides the association responsible for the record."),
    )
    worker_type = _code_field(_("Worker type"), CodeTable.WORKER_TYPE)
    discipline = _code_field(_("Discipline"), CodeTable.DISCIPLINE)
    research_field = forms.CharField(label=_("Research field"), max_length=200, required=False)
    expertise = forms.CharField(label=_("Technical expertise"), max_length=200, required=False)
    achievements = forms.CharField(
        label=_("Achievements"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Papers, patents, awards, honours, talent programmes — one per line."),
    )
    affiliations = forms.CharField(
        label=_("Affiliations"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Society memberships, teams, expert pools — one per line."),
    )
    tianshan_account = forms.CharField(label=_("天山科技云 account"), max_length=64, required=False)
    tianshan_registered_on = forms.DateField(
        label=_("天山科技云 registration date"),
        required=False,
        widget=forms.DateInput(attrs=_DATE),
    )

    def __init__(self, *args, user, person=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        action = Action.CHANGE if person is not None else Action.CREATE
        keep = person.township if person is not None and person.township_id else None
        self.fields["township"].choices = township_choices(user, action, keep=keep)
        employers = Organisation.objects.visible_to(user).active()
        if person is not None and person.employer_id:
            employers = employers | Organisation.objects.filter(pk=person.employer_id)
        self.fields["employer"].queryset = employers.order_by("path")
        if person is not None:
            for name in SENSITIVE_FIELDS:
                self.fields[name].help_text = KEEP_STORED
                self.fields[name].widget.attrs["placeholder"] = "••••"

    @staticmethod
    def initial_for(person) -> dict:
        """The values of an existing record, without the sensitive ones."""
        from .services import PERSON_FIELDS

        initial = {
            name: getattr(person, name) for name in PERSON_FIELDS if name not in SENSITIVE_FIELDS
        }
        initial["township"] = str(person.township_id) if person.township_id else ""
        initial["employer"] = person.employer_id
        return initial

    def clean_township(self):
        value = self.cleaned_data.get("township")
        if not value:
            return None
        return Region.objects.filter(pk=int(value)).first()

    def service_data(self) -> dict:
        """What to hand to ``person_create`` / ``person_update``: every field, except that an
        empty sensitive field means "keep" on an existing record."""
        data = dict(self.cleaned_data)
        for name in CODE_FIELDS:
            data[name] = data.get(name) or ""
        if self.person is not None:
            for name in SENSITIVE_FIELDS:
                if not (data.get(name) or "").strip():
                    data.pop(name, None)
        return data


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[(name, name) for name in SENSITIVE_FIELDS])
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REVEAL_REASON_MAX_LENGTH,
        help_text=_("Why you need the full value; recorded in the audit log."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].widget = forms.HiddenInput()
        self.fields["reason"].widget.attrs.update({"class": "form-control", "autocomplete": "off"})


class ContactForm(StyledFormMixin, forms.Form):
    on_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs=_DATE))
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    topic = forms.CharField(label=_("Topic"), max_length=300)
    confirmed = forms.BooleanField(
        label=_("The person confirmed their data"),
        required=False,
        help_text=_("Also records the date as the last confirmation."),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"on_date": timezone.localdate()})
        super().__init__(*args, **kwargs)
