"""Writes to the talent registry. Every write checks the actor's right again (AC-03), keeps the
search index in step and writes one audit event (with field names, never personal values)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can
from kexie.core.audit import audit_log
from kexie.core.choices import AuditOutcome, CodeTable, TitleLevel
from kexie.core.crypto import blind_index
from kexie.core.models import CodeEntry, Region
from kexie.core.parameters import get_param
from kexie.core.text import clean_pasted_text, normalise_name, search_key
from kexie.orgs.models import Organisation

from . import search
from .choices import ContactChannel, EmployerCategory, PersonSource, ReviewDecision, ReviewStatus
from .identity import ID_PURPOSE, MINOR_AGE, PHONE_PURPOSE, age_on, check_identity
from .models import Person, PersonContact, PersonReview, RegistrationTarget

# Fields a person record is written with; the order is the order of forms and templates.
PERSON_FIELDS = (
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "id_number",
    "phone",
    "email",
    "political_status",
    "education",
    "degree",
    "school",
    "major",
    "title",
    "title_level",
    "employer",
    "employer_text",
    "employer_category",
    "post",
    "township",
    "worker_type",
    "discipline",
    "research_field",
    "expertise",
    "achievements",
    "affiliations",
    "tianshan_account",
    "tianshan_registered_on",
)
SENSITIVE_FIELDS = ("id_number", "phone", "email")
CODE_FIELDS = {
    "gender": CodeTable.GENDER,
    "ethnicity": CodeTable.ETHNICITY,
    "political_status": CodeTable.POLITICAL_STATUS,
    "education": CodeTable.EDUCATION,
    "degree": CodeTable.DEGREE,
    "title": CodeTable.TITLE,
    "worker_type": CodeTable.WORKER_TYPE,
    "discipline": CodeTable.DISCIPLINE,
}
# What a complete record has (the completeness score is the share of these that are filled).
COMPLETENESS_FIELDS = (
    "gender",
    "ethnicity",
    "birth_date",
    "id_number",
    "phone",
    "political_status",
    "education",
    "title",
    "employer_name",
    "township_id",
    "worker_type",
    "discipline",
    "expertise",
)
TEXT_FIELDS = ("school", "major", "post", "research_field", "expertise", "employer_text")
REVEAL_REASON_MAX_LENGTH = 200

_code_cache: dict[str, tuple[float, dict[str, CodeEntry]]] = {}


def code_entries(table: str) -> dict[str, CodeEntry]:
    """The entries of a code table by code, cached for a minute (tables change once a year)."""
    cached = _code_cache.get(table)
    if cached and time.monotonic() - cached[0] < 60:
        return cached[1]
    entries = {e.code: e for e in CodeEntry.objects.filter(table=table)}
    _code_cache[table] = (time.monotonic(), entries)
    return entries


def responsible_organisation(township: Region | None) -> Organisation | None:
    """REG-02: the township's association, else the association of its county."""
    if township is None:
        return None
    org = (
        Organisation.objects.active()
        .filter(region=township, kind="township_association")
        .order_by("path")
        .first()
    )
    if org is None and township.parent_id:
        org = (
            Organisation.objects.active()
            .filter(region_id=township.parent_id, kind="county_association")
            .order_by("path")
            .first()
        )
    return org


@dataclass
class CleanedPerson:
    """A person's values after normalisation, with every problem found (field → messages)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def person_clean(data: dict[str, Any], *, region_lookup=None) -> CleanedPerson:
    """Normalise and validate a person's values without touching the database's rows (only
    code tables are read). Used by forms, self-registration and the importer alike."""
    result = CleanedPerson()
    values = {name: data.get(name) for name in PERSON_FIELDS if name in data}
    name = normalise_name(clean_pasted_text(values.get("name") or "")[0])
    if not name:
        result.add("name", _("Enter the name."))
    elif len(name) > 60:
        result.add("name", _("The name may be at most 60 characters long."))
    values["name"] = name
    for text_field in TEXT_FIELDS:
        if text_field in values:
            values[text_field] = clean_pasted_text(values[text_field] or "")[0][:200]
    for multi in ("achievements", "affiliations"):
        if multi in values:
            values[multi] = (values[multi] or "").strip()
    identity = check_identity(
        id_number=values.get("id_number") or "",
        phone=values.get("phone") or "",
        birth_date=values.get("birth_date"),
        gender=values.get("gender") or "",
        region_lookup=region_lookup,
    )
    for key, messages in identity.errors.items():
        for message in messages:
            result.add(key, message)
    result.warnings.extend(identity.warnings)
    if "id_number" in values:
        values["id_number"] = identity.id_number
    if "phone" in values:
        values["phone"] = identity.phone
    if identity.birth_date and "birth_date" not in result.errors:
        values["birth_date"] = identity.birth_date
    if identity.gender and "gender" not in result.errors:
        values["gender"] = identity.gender
    birth = values.get("birth_date")
    if birth and birth > timezone.localdate():
        result.add("birth_date", _("The date of birth lies in the future."))
    email = (values.get("email") or "").strip()
    if "email" in values:
        values["email"] = email.lower()
    for code_field, table in CODE_FIELDS.items():
        code = (values.get(code_field) or "").strip()
        if code_field in values:
            values[code_field] = code
        if code and code not in code_entries(table):
            result.add(code_field, _("Unknown code %(code)s.") % {"code": code})
    title = values.get("title")
    if title and not values.get("title_level") and title in code_entries(CodeTable.TITLE):
        values["title_level"] = code_entries(CodeTable.TITLE)[title].level
    level = values.get("title_level") or ""
    if level and level not in TitleLevel.values:
        result.add("title_level", _("Unknown title level."))
    category = values.get("employer_category") or ""
    if category and category not in EmployerCategory.values:
        result.add("employer_category", _("Unknown employer category."))
    township = values.get("township")
    if township is not None and getattr(township, "level", "township") != "township":
        result.add("township", _("Choose a township or street."))
    result.values = values
    return result


def completeness_of(person: Person) -> int:
    filled = 0
    for name in COMPLETENESS_FIELDS:
        value = getattr(person, name)
        filled += bool(value)
    return round(100 * filled / len(COMPLETENESS_FIELDS))


def _derive(person: Person) -> None:
    """Keep the derived columns in step with the values."""
    person.name_key = search_key(person.name)[:60]
    person.id_index = (
        blind_index(person.id_number, purpose=ID_PURPOSE) if person.id_number else None
    )
    person.phone_index = blind_index(person.phone, purpose=PHONE_PURPOSE) if person.phone else ""
    person.is_minor = bool(
        person.birth_date and age_on(person.birth_date, timezone.localdate()) < MINOR_AGE
    )
    if person.employer_id:
        person.employer_text = ""
    person.completeness = completeness_of(person)


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _save_checked(person: Person, *, update_fields: list[str] | None = None) -> None:
    """Save; a second record with the same ID number is refused with a field error."""
    try:
        with transaction.atomic():
            person.full_clean(exclude=["id_number", "phone", "email", "id_index"])
            person.save(update_fields=update_fields)
    except IntegrityError as exc:
        if (
            person.id_index
            and Person.objects.filter(id_index=person.id_index).exclude(pk=person.pk).exists()
        ):
            raise ValidationError(
                {"id_number": [_("A person with this ID number is already registered.")]}
            ) from exc
        raise


def id_number_taken(id_number: str, *, exclude_pk: int | None = None) -> Person | None:
    if not id_number:
        return None
    qs = Person.objects.filter(id_index=blind_index(id_number, purpose=ID_PURPOSE))
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _check_scope(actor, action: str, organisation: Organisation) -> None:
    if actor is not None and not can(actor, action, organisation):
        raise PermissionDenied


@transaction.atomic
def person_create(
    *,
    actor,
    organisation: Organisation | None,
    data: dict[str, Any],
    source: str = PersonSource.STAFF,
    review_status: str = ReviewStatus.PENDING,
    audit: bool = True,
) -> Person:
    """Register a person. ``organisation`` defaults to the one responsible for the township.

    ``actor`` None is the system (demo data, self-registration through its own service).
    """
    cleaned = person_clean(data)
    _raise(cleaned.errors)
    values = cleaned.values
    organisation = organisation or responsible_organisation(values.get("township"))
    if organisation is None:
        raise ValidationError({"township": [_("Choose the township the person lives in.")]})
    _check_scope(actor, Action.CREATE, organisation)
    if values.get("employer") is not None:
        _check_employer(actor, values["employer"])
    taken = id_number_taken(values.get("id_number") or "")
    if taken is not None:
        raise ValidationError(
            {"id_number": [_("A person with this ID number is already registered.")]}
        )
    person = Person(
        organisation=organisation,
        source=source,
        review_status=review_status,
        **values,
    )
    if review_status == ReviewStatus.VERIFIED:
        person.review_level = 1
        person.reviewed_at = timezone.now()
        person.reviewed_by = actor if actor is not None and actor.is_authenticated else None
        person.last_confirmed_on = timezone.localdate()
    _derive(person)
    _save_checked(person)
    search.index_persons([person])
    if audit:
        audit_log(
            actor=actor,
            event_type="person.create",
            obj=person,
            details={"source": source, "organisation": organisation.code},
        )
    return person


def _check_employer(actor, employer: Organisation) -> None:
    """An employer must be an active organisation; staff may pick any organisation they can
    see (employers are often outside the reviewing association's subtree)."""
    if not employer.is_active:
        raise ValidationError({"employer": [_("This organisation has been dissolved.")]})


@transaction.atomic
def person_update(*, actor, person: Person, data: dict[str, Any]) -> list[str]:
    """Change a person's values; returns the names of the fields that changed.

    Moving the record to another township moves it to that township's association, which the
    actor must be allowed to change too (AC-03).
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_scope(actor, Action.CHANGE, person.organisation)
    cleaned = person_clean({**{f: getattr(person, f) for f in PERSON_FIELDS}, **data})
    _raise(cleaned.errors)
    changed = [
        name
        for name, value in cleaned.values.items()
        if name in data and getattr(person, name) != value
    ]
    if not changed:
        return []
    if "employer" in changed and cleaned.values.get("employer") is not None:
        _check_employer(actor, cleaned.values["employer"])
    if "id_number" in changed and id_number_taken(
        cleaned.values.get("id_number") or "", exclude_pk=person.pk
    ):
        raise ValidationError(
            {"id_number": [_("A person with this ID number is already registered.")]}
        )
    for name in changed:
        setattr(person, name, cleaned.values[name])
    update_fields = list(changed)
    if "township" in changed:
        new_org = responsible_organisation(person.township)
        if new_org is not None and new_org.pk != person.organisation_id:
            _check_scope(actor, Action.CHANGE, new_org)
            person.organisation = new_org
            update_fields.append("organisation")
    _derive(person)
    update_fields += [
        "name_key",
        "id_index",
        "phone_index",
        "is_minor",
        "completeness",
        "employer_text",
        "updated_at",
    ]
    _save_checked(person, update_fields=list(dict.fromkeys(update_fields)))
    if {"name", "employer", "employer_text"} & set(changed):
        search.index_persons([person])
    audit_log(
        actor=actor,
        event_type="person.update",
        obj=person,
        details={"fields": changed},
    )
    return changed


@transaction.atomic
def person_confirm(*, actor, person: Person, on_date: dt.date | None = None) -> Person:
    """Record that the person's data was checked with them (常态化联系)."""
    _check_scope(actor, Action.CHANGE, person.organisation)
    person.last_confirmed_on = on_date or timezone.localdate()
    person.save(update_fields=["last_confirmed_on", "updated_at"])
    audit_log(actor=actor, event_type="person.confirm", obj=person)
    return person


@transaction.atomic
def contact_add(
    *, actor, person: Person, on_date: dt.date, channel: str, topic: str, confirmed: bool = False
) -> PersonContact:
    _check_scope(actor, Action.CHANGE, person.organisation)
    topic = " ".join((topic or "").split())
    errors: dict[str, list[str]] = {}
    if not topic:
        errors["topic"] = [_("Say what the contact was about.")]
    if channel not in ContactChannel.values:
        errors["channel"] = [_("Choose a channel.")]
    if on_date > timezone.localdate():
        errors["on_date"] = [_("The date lies in the future.")]
    _raise(errors)
    contact = PersonContact.objects.create(
        person=person, on_date=on_date, channel=channel, contacted_by=actor, topic=topic[:300]
    )
    if confirmed:
        person.last_confirmed_on = on_date
        person.save(update_fields=["last_confirmed_on", "updated_at"])
    audit_log(
        actor=actor,
        event_type="person.contact",
        obj=person,
        details={"channel": channel, "confirmed": confirmed},
    )
    return contact


def _review_level_needed() -> int:
    return int(get_param("registration_review_levels"))


def _top_organisation(organisation: Organisation) -> Organisation:
    paths = organisation.ancestor_paths()
    if not paths:
        return organisation
    return Organisation.objects.get(path=paths[0])


@transaction.atomic
def person_review(*, actor, person: Person, decision: str, reason: str = "") -> Person:
    """A reviewer's decision on a pending record (REG-02).

    Level 1 is the county (a reviewer in whose scope the record lies); with two levels
    configured, an approved record then waits for a reviewer of the prefecture (the top of the
    tree). Returning or rejecting needs a reason, which the person sees.
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    reason = " ".join((reason or "").split())[:300]
    if person.review_status == ReviewStatus.PENDING:
        level = 1
        allowed = can(actor, Action.REVIEW, person.organisation)
    elif person.review_status == ReviewStatus.PENDING_PREFECTURE:
        level = 2
        allowed = can(actor, Action.REVIEW, _top_organisation(person.organisation))
    else:
        raise ValidationError(_("This record is not waiting for review."))
    if not allowed:
        audit_log(
            actor=actor,
            event_type="person.review",
            obj=person,
            outcome=AuditOutcome.DENIED,
            details={"decision": decision, "level": level},
        )
        raise PermissionDenied
    if decision not in (ReviewDecision.APPROVE, ReviewDecision.RETURN, ReviewDecision.REJECT):
        raise ValidationError(_("Unknown decision."))
    if decision != ReviewDecision.APPROVE and not reason:
        raise ValidationError({"reason": [_("Give the reason; the person will see it.")]})
    if decision == ReviewDecision.APPROVE:
        if level == 1 and _review_level_needed() >= 2:
            status = ReviewStatus.PENDING_PREFECTURE
        else:
            status = ReviewStatus.VERIFIED
            person.last_confirmed_on = timezone.localdate()
    elif decision == ReviewDecision.RETURN:
        status = ReviewStatus.RETURNED
    else:
        status = ReviewStatus.REJECTED
    person.review_status = status
    person.review_level = level
    person.reviewed_by = actor
    person.reviewed_at = timezone.now()
    person.review_note = reason
    person.save(
        update_fields=[
            "review_status",
            "review_level",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "last_confirmed_on",
            "updated_at",
        ]
    )
    PersonReview.objects.create(
        person=person,
        decision=decision,
        level=level,
        reviewer=actor,
        reason=reason,
        status_after=status,
    )
    audit_log(
        actor=actor,
        event_type="person.review",
        obj=person,
        reason=reason,
        details={"decision": decision, "level": level, "status": status},
    )
    return person


def can_reveal(actor, person: Person) -> bool:
    return can(actor, Action.VIEW_SENSITIVE, person.organisation)


def person_reveal(*, actor, person: Person, field_name: str, reason: str) -> str:
    """The full ID number, phone or e-mail of one person for one holder of the right (AC-04),
    with a reason; refusals and reveals are audited."""
    if field_name not in SENSITIVE_FIELDS:
        raise ValidationError(_("This field cannot be revealed."))
    if not can_reveal(actor, person):
        audit_log(
            actor=actor,
            event_type="pii.reveal",
            obj=person,
            outcome=AuditOutcome.DENIED,
            details={"field": field_name},
        )
        raise PermissionDenied
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for seeing the full value.")]})
    if len(reason) > REVEAL_REASON_MAX_LENGTH:
        raise ValidationError(
            {
                "reason": [
                    _("The reason may be at most %(max)d characters long.")
                    % {"max": REVEAL_REASON_MAX_LENGTH}
                ]
            }
        )
    with transaction.atomic():
        value = getattr(Person.objects.only(field_name).get(pk=person.pk), field_name)
        audit_log(
            actor=actor,
            event_type="pii.reveal",
            obj=person,
            reason=reason,
            details={"field": field_name},
        )
    return value


@transaction.atomic
def target_set(*, actor, organisation: Organisation, year: int, target: int) -> RegistrationTarget:
    """Registration targets are set by the prefecture: a holder of the review right at the
    top of the tree (the county cannot set its own target)."""
    if not can(actor, Action.REVIEW, _top_organisation(organisation)):
        raise PermissionDenied
    if target < 0 or target > 10_000_000:
        raise ValidationError({"target": [_("Enter a number between 0 and 10,000,000.")]})
    if year < 2000 or year > 2100:
        raise ValidationError({"year": [_("Enter a year between 2000 and 2100.")]})
    row, _created = RegistrationTarget.objects.update_or_create(
        organisation=organisation, year=year, defaults={"target": target, "set_by": actor}
    )
    audit_log(
        actor=actor,
        event_type="person.target_set",
        obj=organisation,
        details={"year": year, "target": target},
    )
    return row


@transaction.atomic
def person_delete(*, actor, person: Person, reason: str, event_type: str = "person.delete") -> None:
    """Delete a record with everything that hangs on it, blind indexes and search tokens
    included (PI-09). The audit event keeps the pk and the reason, never the values."""
    if actor is not None:
        _check_scope(actor, Action.CHANGE, person.organisation)
    pk, org_code = person.pk, person.organisation.code
    search.unindex_persons([pk])
    Person.objects.filter(merged_into=person).update(merged_into=None)
    person.delete()
    audit_log(
        actor=actor,
        event_type=event_type,
        object_type="people.person",
        object_id=str(pk),
        object_repr=f"#{pk}",
        reason=reason[:500],
        details={"organisation": org_code},
    )
