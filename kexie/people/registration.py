"""Self-registration, status look-up, self-service sign-in and data-subject rights.

Services for the public pages under /register/ and the staff pages for the review queue and
data-subject requests (REG-01, REG-02, REG-04, AUTH-11, PI-02..PI-04, PI-08, PI-09).

Rules that shape this module:

- The public answer never tells whether a person is already registered: a registration that
  matches an existing ID number or phone creates nothing, writes an audit event on the
  existing record for staff, and returns a status code that opens nothing (AUTH-11, REG-04).
- Rate limits live in the shared Django cache (the database cache in production), keyed by a
  keyed hash of the phone or the address, never by the raw value (REG-01, API-04).
- Status codes and one-time codes are stored only as keyed hashes (``blind_index``).
- Children under 14 cannot register online; a guardian registers them at the county office
  (PI-04). Under 18 is flagged on the record (``Person.is_minor``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can, scope_paths
from kexie.core.audit import audit_log
from kexie.core.crypto import blind_index
from kexie.core.models import Region
from kexie.core.parameters import get_param
from kexie.orgs.models import Organisation
from kexie.orgs.tree import subtree_q

from . import sms
from .choices import (
    ConsentKind,
    PersonSource,
    RequestChannel,
    ReviewDecision,
    ReviewStatus,
    SubjectRequestKind,
    SubjectRequestStatus,
)
from .identity import GUARDIAN_AGE, PHONE_PURPOSE, age_on
from .models import Consent, OneTimeCode, Person, PersonReview, SubjectRequest
from .services import (
    CODE_FIELDS,
    person_clean,
    person_delete,
    person_update,
    responsible_organisation,
)

# Fields a person types at self-registration (and may correct when the record is returned).
REGISTRATION_FIELDS = (
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "phone",
    "township",
    "employer_text",
    "worker_type",
    "title",
    "education",
    "id_number",
)
STATUS_TOKEN_PURPOSE = "person.status_token"  # noqa: S105 - an HMAC purpose, not a secret
OTP_PURPOSE = "people.otp"
OTP_SELF_SERVICE = "self_service"
OTP_LIFETIME = dt.timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5
STATUS_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
STATUS_CODE_LENGTH = 12
PURGE_AFTER = dt.timedelta(days=30)
REQUEST_KEEP = dt.timedelta(days=3 * 365)

# (limit, window in seconds)
LIMIT_REGISTER_IP = (5, 3600)
LIMIT_REGISTER_PHONE = (3, 86400)
LIMIT_POST_IP = (30, 3600)
LIMIT_STATUS_IP = (10, 3600)
LIMIT_OTP_SEND_PHONE = (3, 900)
LIMIT_OTP_SEND_IP = (10, 3600)
LIMIT_OTP_VERIFY_IP = (20, 3600)


# --- rate limits (REG-01) ---------------------------------------------------------------------


def _limit_key(kind: str, value: str) -> str:
    return "kexie:rl:" + kind + ":" + blind_index(value or "-", purpose="people.rate_limit")[:32]


def rate_limited(kind: str, value: str, limit: tuple[int, int]) -> bool:
    """Count one attempt of ``kind`` for ``value``; True when the limit is passed.

    The counter lives in the shared cache (``cache.add`` starts the window, ``cache.incr`` is
    atomic in the database and Redis caches), so every worker process sees the same count.
    """
    count, window = limit
    key = _limit_key(kind, value)
    cache.add(key, 0, window)
    try:
        seen = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        seen = 1
    return seen > count


def rate_limit_peek(kind: str, value: str, limit: tuple[int, int]) -> bool:
    """Whether ``value`` has already used up ``kind`` (without counting an attempt)."""
    return (cache.get(_limit_key(kind, value)) or 0) >= limit[0]


# --- choices for the public form --------------------------------------------------------------


def township_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Townships of the prefecture grouped by county, for the registration form."""
    rows = (
        Region.objects.filter(
            level="township",
            valid_to__isnull=True,
            is_xpcc=False,
            parent__parent__level="prefecture",
        )
        .select_related("parent")
        .order_by("parent__code", "code")
    )
    groups: dict[str, list[tuple[int, str]]] = {}
    for region in rows:
        groups.setdefault(region.parent.name, []).append((region.pk, region.name))
    return list(groups.items())


def township_get(pk) -> Region | None:
    try:
        return Region.objects.filter(pk=int(pk), level="township").first()
    except (TypeError, ValueError):
        return None


# --- self-registration ------------------------------------------------------------------------


@dataclass
class RegistrationReceipt:
    """What the "received" page shows: the status code (always) — never whether it opens a
    record (REG-04)."""

    status_code: str
    person: Person | None = None


def new_status_code() -> str:
    return "".join(secrets.choice(STATUS_CODE_ALPHABET) for _i in range(STATUS_CODE_LENGTH))


def _status_hash(code: str) -> str:
    normalised = (code or "").strip().upper().replace("-", "").replace(" ", "")
    return blind_index(normalised, purpose=STATUS_TOKEN_PURPOSE)


def format_status_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def registration_clean(data: dict[str, Any], *, consent_privacy: bool, consent_id: bool):
    """Validate a registration; raises ``ValidationError`` with field errors."""
    cleaned = person_clean(data)
    errors = dict(cleaned.errors)
    values = cleaned.values
    if not values.get("phone") and "phone" not in errors:
        errors.setdefault("phone", []).append(_("Enter your mobile number."))
    if not values.get("birth_date") and "birth_date" not in errors:
        errors.setdefault("birth_date", []).append(_("Enter your date of birth."))
    if values.get("township") is None:
        errors.setdefault("township", []).append(_("Choose the township you live in."))
    birth = values.get("birth_date")
    if birth and "birth_date" not in errors and age_on(birth, timezone.localdate()) < GUARDIAN_AGE:
        errors.setdefault("birth_date", []).append(
            _(
                "Children under 14 cannot register online. A parent or guardian can register "
                "them at the county science and technology association."
            )
        )
    if not consent_privacy:
        errors.setdefault("consent_privacy", []).append(
            _("Registration needs your consent to the privacy notice.")
        )
    if values.get("id_number") and not consent_id:
        errors.setdefault("consent_id", []).append(
            _("Tick the separate consent for the ID number, or leave the ID number empty.")
        )
    township = values.get("township")
    if (
        township is not None
        and "township" not in errors
        and responsible_organisation(township) is None
    ):
        errors.setdefault("township", []).append(
            _(
                "Online registration is not open for this township yet; please contact "
                "your county science and technology association."
            )
        )
    if errors:
        raise ValidationError(errors)
    return values


def _existing_person(values: dict[str, Any]) -> tuple[Person | None, str]:
    if values.get("id_number"):
        index = blind_index(values["id_number"], purpose="person.id_number")
        found = Person.objects.filter(id_index=index).first()
        if found is not None:
            return found, "id_number"
    if values.get("phone"):
        index = blind_index(values["phone"], purpose=PHONE_PURPOSE)
        found = Person.objects.filter(phone_index=index).current().order_by("id").first()
        if found is not None:
            return found, "phone"
    return None, ""


def _consents_create(person: Person, *, kinds: list[str], ip: str | None) -> None:
    version = str(get_param("privacy_notice_version"))
    now = timezone.now()
    Consent.objects.bulk_create(
        [
            Consent(person=person, kind=kind, notice_version=version, given_at=now, ip_address=ip)
            for kind in kinds
        ]
    )


@transaction.atomic
def register_self(
    *, data: dict[str, Any], consent_privacy: bool, consent_id: bool, ip: str | None
) -> RegistrationReceipt:
    """A person registers themselves (REG-02): a pending record at the responsible
    organisation, with the consents given. Raises ``ValidationError`` for bad input.

    When the ID number or phone is already registered nothing is created; the existing record
    gets an audit event for staff to follow up, and the receipt looks the same (REG-04)."""
    values = registration_clean(data, consent_privacy=consent_privacy, consent_id=consent_id)
    code = new_status_code()
    existing, matched = _existing_person(values)
    if existing is not None:
        audit_log(
            actor=None,
            event_type="person.self_register",
            obj=existing,
            details={"existing": True, "matched": matched, "created": False},
        )
        return RegistrationReceipt(status_code=code)
    from .services import person_create

    person = person_create(
        actor=None,
        organisation=None,
        data=values,
        source=PersonSource.SELF,
        review_status=ReviewStatus.PENDING,
        audit=False,
    )
    person.status_token = _status_hash(code)
    person.save(update_fields=["status_token"])
    kinds = [ConsentKind.PRIVACY] + ([ConsentKind.ID_NUMBER] if person.id_number else [])
    _consents_create(person, kinds=kinds, ip=ip)
    audit_log(
        actor=None,
        event_type="person.self_register",
        obj=person,
        details={
            "organisation": person.organisation.code,
            "consents": [str(k) for k in kinds],
            "minor": person.is_minor,
            "created": True,
        },
    )
    return RegistrationReceipt(status_code=code, person=person)


def status_lookup(*, phone: str, code: str) -> Person | None:
    """The self-registered record that ``phone`` and its status ``code`` open, or None."""
    from .identity import phone_index_of

    try:
        index = phone_index_of(phone)
    except ValidationError:
        return None
    wanted = _status_hash(code)
    for person in Person.objects.filter(phone_index=index, source=PersonSource.SELF).exclude(
        status_token=""
    ):
        if hmac.compare_digest(person.status_token, wanted):
            return person
    return None


def returned_reason(person: Person) -> str:
    if person.review_status in (ReviewStatus.RETURNED, ReviewStatus.REJECTED):
        return person.review_note
    return ""


@transaction.atomic
def registration_resubmit(
    *, person: Person, data: dict[str, Any], consent_id: bool, ip: str | None
) -> Person:
    """A returned record corrected by the person and sent back for review (person.resubmit)."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.review_status != ReviewStatus.RETURNED:
        raise ValidationError(_("This registration is not waiting for your correction."))
    has_id_consent = person.consents.filter(
        kind=ConsentKind.ID_NUMBER, withdrawn_at__isnull=True
    ).exists()
    values = registration_clean(data, consent_privacy=True, consent_id=consent_id or has_id_consent)
    if values.get("id_number"):
        index = blind_index(values["id_number"], purpose="person.id_number")
        if Person.objects.filter(id_index=index).exclude(pk=person.pk).exists():
            # REG-04: do not say that the number is registered to someone else.
            raise ValidationError(
                _("The record could not be saved. Please contact your county association.")
            )
    changed = person_update(
        actor=None, person=person, data={k: values.get(k) for k in REGISTRATION_FIELDS}
    )
    person.refresh_from_db()
    if person.id_number and not has_id_consent:
        _consents_create(person, kinds=[ConsentKind.ID_NUMBER], ip=ip)
    person.review_status = ReviewStatus.PENDING
    person.review_level = 0
    person.save(update_fields=["review_status", "review_level", "updated_at"])
    PersonReview.objects.create(
        person=person,
        decision=ReviewDecision.RESUBMIT,
        level=0,
        reviewer=None,
        status_after=ReviewStatus.PENDING,
    )
    audit_log(actor=None, event_type="person.resubmit", obj=person, details={"fields": changed})
    return person


# --- review queue (staff) ---------------------------------------------------------------------


def top_organisations() -> QuerySet[Organisation]:
    return Organisation.objects.filter(parent__isnull=True)


def holds_top_review(user) -> bool:
    """Whether ``user`` may decide at the second (prefecture) level."""
    return any(can(user, Action.REVIEW, org) for org in top_organisations())


def with_duplicate_hint(queryset: QuerySet[Person]) -> QuerySet[Person]:
    """Annotate ``has_duplicate``: another record has the same phone or ID number index."""
    same_phone = (
        Person.objects.filter(phone_index=OuterRef("phone_index"))
        .exclude(pk=OuterRef("pk"))
        .exclude(phone_index="")
    )
    same_id = Person.objects.filter(id_index=OuterRef("id_index"), id_index__isnull=False).exclude(
        pk=OuterRef("pk")
    )
    return queryset.annotate(dup_phone=Exists(same_phone), dup_id=Exists(same_id))


def code_names(person: Person) -> dict[str, str]:
    """Names of the coded values of a record, for display."""
    names = {}
    for name, table in CODE_FIELDS.items():
        code = getattr(person, name)
        names[name] = ""
        if code:
            from .services import code_entries

            entry = code_entries(table).get(code)
            names[name] = entry.name if entry else code
    return names


# --- one-time codes and the self-service sign-in (PI-08) --------------------------------------


def _otp_hash(phone_index: str, code: str) -> str:
    return blind_index(f"{phone_index}:{code}", purpose=OTP_PURPOSE)


def otp_send(*, phone: str, ip: str | None) -> bool:
    """Send a sign-in code to ``phone`` if a record has that number.

    Returns False when sending is throttled. The caller answers the same either way and
    whether or not the phone is registered (AUTH-11)."""
    from .identity import phone_index_of

    index = phone_index_of(phone)  # ValidationError for a malformed number
    if rate_limited("otp_ip", ip or "", LIMIT_OTP_SEND_IP) or rate_limited(
        "otp_phone", index, LIMIT_OTP_SEND_PHONE
    ):
        return False
    if not Person.objects.current().filter(phone_index=index).exists():
        return True
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        OneTimeCode.objects.filter(
            phone_index=index, purpose=OTP_SELF_SERVICE, used_at__isnull=True
        ).delete()
        OneTimeCode.objects.create(
            phone_index=index,
            code_hash=_otp_hash(index, code),
            purpose=OTP_SELF_SERVICE,
            expires_at=timezone.now() + OTP_LIFETIME,
        )
    sms.send_sms(
        phone,
        _("Your Kexie sign-in code is %(code)s. It is valid for 10 minutes; never share it.")
        % {"code": code},
    )
    return True


def otp_verify(*, phone: str, code: str) -> list[int] | None:
    """The pks of the records ``phone`` owns if ``code`` is right, else None.

    A code works once, for 10 minutes, and is spent after 5 wrong tries."""
    from .identity import phone_index_of

    try:
        index = phone_index_of(phone)
    except ValidationError:
        return None
    now = timezone.now()
    with transaction.atomic():
        otp = (
            OneTimeCode.objects.select_for_update()
            .filter(phone_index=index, purpose=OTP_SELF_SERVICE, used_at__isnull=True)
            .order_by("-id")
            .first()
        )
        if otp is None or otp.expires_at <= now or otp.attempts >= OTP_MAX_ATTEMPTS:
            return None
        if not hmac.compare_digest(otp.code_hash, _otp_hash(index, (code or "").strip())):
            OneTimeCode.objects.filter(pk=otp.pk).update(attempts=F("attempts") + 1)
            return None
        otp.used_at = now
        otp.save(update_fields=["used_at"])
    ids = list(Person.objects.current().filter(phone_index=index).values_list("pk", flat=True))
    return ids or None


def own_records(ids: list[int]) -> QuerySet[Person]:
    return (
        Person.objects.filter(pk__in=ids)
        .select_related("organisation", "township", "employer")
        .prefetch_related("consents", "subject_requests")
    )


def own_record_get(ids: list[int], pk) -> Person:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    if pk not in ids:
        raise Http404
    person = own_records(ids).filter(pk=pk).first()
    if person is None:
        raise Http404
    return person


def subject_data(person: Person) -> dict[str, Any]:
    """Everything the registry holds on ``person``, for the person themselves (PI-08)."""
    names = code_names(person)
    data: dict[str, Any] = {
        "record": person.pk,
        "name": person.name,
        "gender": names["gender"],
        "ethnicity": names["ethnicity"],
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "id_number": person.id_number,
        "phone": person.phone,
        "email": person.email,
        "political_status": names["political_status"],
        "education": names["education"],
        "degree": names["degree"],
        "school": person.school,
        "major": person.major,
        "title": names["title"],
        "employer": person.employer_name,
        "post": person.post,
        "township": person.township.name if person.township_id else "",
        "worker_type": names["worker_type"],
        "discipline": names["discipline"],
        "research_field": person.research_field,
        "expertise": person.expertise,
        "achievements": person.achievements,
        "affiliations": person.affiliations,
        "responsible_organisation": person.organisation.name,
        "source": person.get_source_display(),
        "review_status": person.get_review_status_display(),
        "review_note": person.review_note,
        "created_at": person.created_at.isoformat(),
        "consents": [
            {
                "kind": c.get_kind_display(),
                "notice_version": c.notice_version,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in person.consents.all()
        ],
        "requests": [
            {
                "kind": r.get_kind_display(),
                "status": r.get_status_display(),
                "answer": r.answer,
                "received_at": r.created_at.isoformat(),
            }
            for r in person.subject_requests.all()
        ],
    }
    return data


def subject_access_log(*, person: Person, what: str) -> None:
    audit_log(actor=None, event_type="person.subject_access", obj=person, details={"what": what})


@transaction.atomic
def consent_withdraw(*, person: Person) -> int:
    """The person withdraws every consent they gave; the record is purged 30 days later unless
    there is another legal basis (PI-08, PI-09). Returns the number withdrawn."""
    now = timezone.now()
    count = Consent.objects.filter(person=person, withdrawn_at__isnull=True).update(
        withdrawn_at=now
    )
    if count:
        SubjectRequest.objects.create(
            person=person,
            organisation=person.organisation,
            kind=SubjectRequestKind.WITHDRAW,
            channel=RequestChannel.SELF,
            status=SubjectRequestStatus.DONE,
            answer=_("Consent withdrawn online."),
            handled_at=now,
        )
        audit_log(
            actor=None,
            event_type="person.consent_withdraw",
            obj=person,
            details={"consents": count},
        )
    return count


# --- data-subject requests --------------------------------------------------------------------


@transaction.atomic
def subject_request_create(
    *,
    actor,
    person: Person | None,
    kind: str,
    details: str = "",
    organisation: Organisation | None = None,
) -> SubjectRequest:
    """Record a request: by the person online (``actor`` None) or by staff for them."""
    if kind not in SubjectRequestKind.values:
        raise ValidationError({"kind": [_("Choose the kind of request.")]})
    organisation = person.organisation if person is not None else organisation
    if organisation is None:
        raise ValidationError({"organisation": [_("Choose the responsible organisation.")]})
    if actor is not None and not can(actor, Action.CHANGE, organisation):
        raise PermissionDenied
    details = (details or "").strip()[:2000]
    if kind == SubjectRequestKind.CORRECTION and not details:
        raise ValidationError({"details": [_("Say what should be corrected.")]})
    if person is None and not details:
        raise ValidationError(
            {"details": [_("Describe the person and the request; there is no record linked.")]}
        )
    request = SubjectRequest.objects.create(
        person=person,
        organisation=organisation,
        kind=kind,
        channel=RequestChannel.SELF if actor is None else RequestChannel.STAFF,
        details=details,
    )
    audit_log(
        actor=actor,
        event_type="person.subject_request",
        obj=request,
        details={"kind": kind, "channel": request.channel, "person": person.pk if person else None},
    )
    return request


def subject_request_list(*, user) -> QuerySet[SubjectRequest]:
    paths = scope_paths(user, Action.CHANGE)
    if not paths:
        return SubjectRequest.objects.none()
    return (
        SubjectRequest.objects.filter(subtree_q(paths, prefix="organisation__"))
        .select_related("person", "organisation", "handled_by")
        .order_by("status", "-id")
    )


def subject_request_get(*, user, pk: int) -> SubjectRequest:
    found = subject_request_list(user=user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@transaction.atomic
def subject_request_handle(*, actor, request: SubjectRequest, status: str, answer: str):
    """Close a request as done or refused, with an answer. A deletion marked done deletes the
    record through ``person_delete`` (blind indexes and search tokens go with it)."""
    request = SubjectRequest.objects.select_for_update().get(pk=request.pk)
    if not can(actor, Action.CHANGE, request.organisation):
        raise PermissionDenied
    if request.status != SubjectRequestStatus.OPEN:
        raise ValidationError(_("This request has already been handled."))
    if status not in (SubjectRequestStatus.DONE, SubjectRequestStatus.REFUSED):
        raise ValidationError({"status": [_("Choose done or refused.")]})
    answer = " ".join((answer or "").split())[:300]
    if status == SubjectRequestStatus.REFUSED and not answer:
        raise ValidationError({"answer": [_("Give the reason for refusing.")]})
    person = request.person
    request.status = status
    request.answer = answer
    request.handled_by = actor
    request.handled_at = timezone.now()
    request.save(update_fields=["status", "answer", "handled_by", "handled_at"])
    deleted = False
    if (
        status == SubjectRequestStatus.DONE
        and request.kind == SubjectRequestKind.DELETION
        and person is not None
    ):
        person_delete(
            actor=actor,
            person=person,
            reason=_("Deletion requested by the person (request #%(pk)s).") % {"pk": request.pk},
        )
        deleted = True
    audit_log(
        actor=actor,
        event_type="person.subject_request_handle",
        obj=request,
        details={"kind": request.kind, "status": status, "deleted": deleted},
    )
    return request


def organisations_for_requests(user) -> QuerySet[Organisation]:
    return (
        Organisation.objects.visible_to(user, Action.CHANGE)
        .active()
        .filter(kind__in=["prefecture_association", "county_association", "township_association"])
        .order_by("path")
    )


# --- purge (PI-09) ----------------------------------------------------------------------------


def people_purge(*, now: dt.datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete what has expired: rejected self-registrations and self-registrations whose
    consent was withdrawn, 30 days on; expired one-time codes; handled requests after 3 years.
    One ``person.purge`` audit event with the counts."""
    now = now or timezone.now()
    cutoff = now - PURGE_AFTER
    rejected = Person.objects.filter(
        source=PersonSource.SELF, review_status=ReviewStatus.REJECTED, reviewed_at__lt=cutoff
    )
    withdrawn = (
        Person.objects.filter(source=PersonSource.SELF)
        .filter(consents__kind=ConsentKind.PRIVACY, consents__withdrawn_at__lt=cutoff)
        .exclude(consents__kind=ConsentKind.PRIVACY, consents__withdrawn_at__isnull=True)
        .exclude(review_status=ReviewStatus.REJECTED)
    )
    codes = OneTimeCode.objects.filter(Q(expires_at__lt=now) | Q(used_at__isnull=False))
    requests = SubjectRequest.objects.exclude(status=SubjectRequestStatus.OPEN).filter(
        handled_at__lt=now - REQUEST_KEEP
    )
    counts = {
        "rejected": rejected.count(),
        "withdrawn": withdrawn.distinct().count(),
        "codes": codes.count(),
        "requests": requests.count(),
    }
    if dry_run:
        return counts
    with transaction.atomic():
        for person in list(rejected.select_related("organisation")):
            person_delete(
                actor=None, person=person, reason="retention: rejected", event_type="person.purge"
            )
        for person in list(withdrawn.distinct().select_related("organisation")):
            person_delete(
                actor=None,
                person=person,
                reason="retention: consent withdrawn",
                event_type="person.purge",
            )
        codes.delete()
        requests.delete()
        audit_log(
            actor=None,
            event_type="person.purge",
            object_type="people.person",
            object_repr="purge",
            details=counts,
        )
    return counts


def status_person(pk) -> Person | None:
    """The record a status-code session opened (None if it was deleted since)."""
    return (
        Person.objects.filter(pk=pk, source=PersonSource.SELF)
        .select_related("organisation", "township")
        .first()
    )
