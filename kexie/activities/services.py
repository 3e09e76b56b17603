"""Writes to campaigns and activities.

Every write checks the actor's right again (AC-03) and writes one audit event with field
names, never personal values (AUD-01, AUD-03). A refused write is audited too: the check runs
before the write's transaction opens, so the "denied" event is not rolled back with it.
``actor=None`` is the system (demo data, later imports through their own checks).

The review chain is the table ``ALLOWED_TRANSITIONS``: (status, action) → the step. Each step
locks the activity row (``select_for_update``) and checks the status again under the lock, so
two reviewers can never both decide the same step (REL-02): the second one finds the activity
no longer in the status the step starts from.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can
from kexie.core.audit import audit_log
from kexie.core.choices import AuditOutcome, RegionLevel
from kexie.core.models import Region
from kexie.core.text import clean_pasted_text
from kexie.core.validators import normalise_mobile
from kexie.orgs.choices import OrganisationKind
from kexie.orgs.models import Organisation

from .choices import (
    ActivityAction,
    ActivityLanguage,
    ActivityStatus,
    ActivityType,
    Audience,
    CampaignKind,
    SignupMode,
)
from .figures import any_number, clean_figures, clean_targets, whole_number
from .models import Activity, ActivityReview, Campaign, CampaignTarget
from .selectors import can_review

# --- Fields ----------------------------------------------------------------------------------

# What a form, an import or the API may write; the order is the order of forms.
ACTIVITY_FIELDS = (
    "title",
    "activity_type",
    "campaign",
    "campaign_tags",
    "organiser",
    "co_organisers",
    "starts_at",
    "ends_at",
    "is_online",
    "online_url",
    "address",
    "township",
    "latitude",
    "longitude",
    "audience",
    "languages",
    "contact_name",
    "contact_phone",
    "planned_participants",
    "capacity",
    "signup_mode",
    "materials",
    "budget",
    "is_key_activity",
    "figures",
)
M2M_FIELDS = ("campaign_tags", "co_organisers")
ACTIVITY_DEFAULTS: dict[str, Any] = {
    "campaign": None,
    "campaign_tags": [],
    "co_organisers": [],
    "is_online": False,
    "online_url": "",
    "address": "",
    "township": None,
    "latitude": None,
    "longitude": None,
    "audience": [],
    "languages": [ActivityLanguage.CHINESE],
    "contact_name": "",
    "contact_phone": "",
    "planned_participants": 0,
    "capacity": None,
    "signup_mode": SignupMode.NONE,
    "materials": "",
    "budget": None,
    "is_key_activity": False,
    "figures": {},
}
EDITABLE_STATUSES = (ActivityStatus.DRAFT, ActivityStatus.RETURNED)
CAMPAIGN_FIELDS = ("kind", "title", "season", "starts_on", "ends_on", "description", "is_active")
REASON_MAX_LENGTH = 300
MAX_BUDGET = Decimal("9999999999.99")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_SEASON = re.compile(r"^(\d{4})(?:[-–—~/](\d{2}|\d{4}))?$")
_url_validator = URLValidator(schemes=["http", "https"])


@dataclass
class Cleaned:
    """Values after normalisation, with every problem found (field → messages)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _is_system(actor) -> bool:
    return actor is None


def _require(actor, action: str, organisation: Organisation, *, event_type: str, obj=None):
    """PermissionDenied unless ``actor`` may ``action`` on ``organisation``; the refusal is
    audited. Call it outside the write's transaction (see the module docstring)."""
    if _is_system(actor) or can(actor, action, organisation):
        return
    audit_log(
        actor=actor,
        event_type=event_type,
        obj=obj if obj is not None else organisation,
        outcome=AuditOutcome.DENIED,
        details={"organisation": organisation.code},
    )
    raise PermissionDenied


def _single_line(value: Any) -> str:
    return " ".join(clean_pasted_text(str(value or ""))[0].split())


def _multi_line(value: Any) -> str:
    return clean_pasted_text(str(value or ""))[0]


def _text(result: Cleaned, name: str, value: Any, max_length: int, *, required=False) -> str:
    text = _single_line(value)
    if required and not text:
        result.add(name, _("This field is required."))
    elif len(text) > max_length:
        result.add(name, _("Enter at most %(max)d characters.") % {"max": max_length})
    return text


def _choice(result: Cleaned, name: str, value: Any, choices) -> str:
    text = str(value or "").strip()
    if text not in choices.values:
        result.add(name, _("Choose one of the listed values."))
    return text


def _code_list(result: Cleaned, name: str, value: Any, choices, *, required: bool) -> list[str]:
    """A JSON list of codes: known values only, each once, in the order of ``choices``."""
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        result.add(name, _("Choose one or more of the listed values."))
        return []
    codes = {str(v) for v in value}
    if codes - set(choices.values):
        result.add(name, _("Choose one or more of the listed values."))
    if required and not codes:
        result.add(name, _("Choose at least one."))
    return [code for code in choices.values if code in codes]


def _count(result: Cleaned, name: str, value: Any, *, nullable: bool, minimum: int = 0):
    if value is None or (isinstance(value, str) and not value.strip()):
        if not nullable:
            result.add(name, _("This field is required."))
        return None
    try:
        number = whole_number(value)
    except ValueError as exc:
        result.add(name, str(exc))
        return None
    if number < minimum:
        result.add(name, _("Enter a number of at least %(min)d.") % {"min": minimum})
    return number


def _phone(result: Cleaned, value: Any) -> str:
    """A mainland mobile number (normalised) or an office landline such as 0901-6222222."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return ""
    mobile = normalise_mobile(text)
    if mobile.isascii() and re.fullmatch(r"1[3-9]\d{9}", mobile):
        return mobile
    landline = re.sub(r"\s+", "", text)
    if landline.isascii() and _LANDLINE.match(landline):
        return landline
    result.add(
        "contact_phone",
        _("Enter a mobile number (11 digits) or a landline with its area code."),
    )
    return text


def _coordinates(result: Cleaned, latitude: Any, longitude: Any):
    def parse(name: str, value: Any, limit: int):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            number = any_number(value)
        except ValueError as exc:
            result.add(name, str(exc))
            return None
        if not -limit <= number <= limit:
            result.add(
                name, _("Enter a value between -%(limit)d and %(limit)d.") % {"limit": limit}
            )
            return None
        return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)

    lat = parse("latitude", latitude, 90)
    lng = parse("longitude", longitude, 180)
    if (lat is None) != (lng is None) and not {"latitude", "longitude"} & set(result.errors):
        result.add("longitude", _("Give both latitude and longitude, or neither."))
    return lat, lng


def _campaign_applies(campaign: Campaign, organiser: Organisation) -> bool:
    """A campaign covers the activities of its organiser's subtree."""
    return organiser.path.startswith(campaign.organiser.path)


# --- Activities: values ------------------------------------------------------------------------


def activity_clean(
    data: dict[str, Any], *, organiser: Organisation, instance: Activity | None = None
) -> Cleaned:
    """Normalise and validate an activity's values (all of ``ACTIVITY_FIELDS`` but
    ``organiser``). ``instance`` is the activity being changed: a campaign or co-organiser it
    already has may have become inactive since, which is no reason to refuse other changes."""
    result = Cleaned()
    v: dict[str, Any] = {}
    before_campaigns = set()
    before_co = set()
    if instance is not None and instance.pk:
        before_campaigns = {
            instance.campaign_id,
            *instance.campaign_tags.values_list("pk", flat=True),
        }
        before_co = set(instance.co_organisers.values_list("pk", flat=True))

    v["title"] = _text(result, "title", data.get("title"), 200, required=True)
    v["activity_type"] = _choice(result, "activity_type", data.get("activity_type"), ActivityType)

    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            result.add(name, _("This field is required."))
        elif not isinstance(value, dt.datetime) or timezone.is_naive(value):
            result.add(name, _("Enter a date and time."))
    if not {"starts_at", "ends_at"} & set(result.errors) and ends_at < starts_at:
        result.add("ends_at", _("The activity cannot end before it starts."))
    v["starts_at"], v["ends_at"] = starts_at, ends_at

    campaign = data.get("campaign")
    if campaign is not None:
        if not isinstance(campaign, Campaign):
            result.add("campaign", _("Choose a campaign."))
        elif campaign.pk not in before_campaigns and not campaign.is_active:
            result.add("campaign", _("This campaign is closed for new activities."))
        elif not _campaign_applies(campaign, organiser):
            result.add("campaign", _("The campaign is not run for the organiser's area."))
        elif "starts_at" not in result.errors and not (
            campaign.starts_on <= timezone.localdate(starts_at) <= campaign.ends_on
        ):
            result.add(
                "starts_at",
                _("The campaign runs from %(start)s to %(end)s; the activity starts outside it.")
                % {"start": campaign.starts_on.isoformat(), "end": campaign.ends_on.isoformat()},
            )
    v["campaign"] = campaign

    tags = list(data.get("campaign_tags") or [])
    for tag in tags:
        if not isinstance(tag, Campaign):
            result.add("campaign_tags", _("Choose a campaign."))
        elif tag.pk not in before_campaigns and not tag.is_active:
            result.add("campaign_tags", _("This campaign is closed for new activities."))
        elif not _campaign_applies(tag, organiser):
            result.add("campaign_tags", _("The campaign is not run for the organiser's area."))
    main_pk = campaign.pk if isinstance(campaign, Campaign) else None
    v["campaign_tags"] = list(
        {t.pk: t for t in tags if isinstance(t, Campaign) and t.pk != main_pk}.values()
    )

    co_organisers = list(data.get("co_organisers") or [])
    for org in co_organisers:
        if not isinstance(org, Organisation):
            result.add("co_organisers", _("Choose an organisation."))
        elif org.pk == organiser.pk:
            result.add("co_organisers", _("The organiser cannot also be a co-organiser."))
        elif org.pk not in before_co and not org.is_active:
            result.add(
                "co_organisers",
                _("%(name)s has been dissolved.") % {"name": org.name},
            )
    v["co_organisers"] = list(
        {o.pk: o for o in co_organisers if isinstance(o, Organisation)}.values()
    )

    v["is_online"] = bool(data.get("is_online"))
    url = str(data.get("online_url") or "").strip()
    if url:
        try:
            _url_validator(url)
        except ValidationError:
            result.add("online_url", _("Enter a web address starting with http:// or https://."))
        if len(url) > 300:
            result.add("online_url", _("Enter at most %(max)d characters.") % {"max": 300})
    elif v["is_online"]:
        result.add("online_url", _("Give the link of an online activity."))
    v["online_url"] = url

    v["address"] = _text(result, "address", data.get("address"), 200, required=not v["is_online"])
    township = data.get("township")
    if township is not None and (
        not isinstance(township, Region) or township.level != RegionLevel.TOWNSHIP
    ):
        result.add("township", _("Choose a township or street."))
    v["township"] = township
    v["latitude"], v["longitude"] = _coordinates(
        result, data.get("latitude"), data.get("longitude")
    )

    v["audience"] = _code_list(result, "audience", data.get("audience"), Audience, required=True)
    v["languages"] = _code_list(
        result, "languages", data.get("languages"), ActivityLanguage, required=True
    )
    v["contact_name"] = _text(result, "contact_name", data.get("contact_name"), 40)
    v["contact_phone"] = _phone(result, data.get("contact_phone"))
    v["planned_participants"] = (
        _count(result, "planned_participants", data.get("planned_participants"), nullable=False)
        or 0
    )
    v["capacity"] = _count(result, "capacity", data.get("capacity"), nullable=True, minimum=1)
    v["signup_mode"] = _choice(result, "signup_mode", data.get("signup_mode"), SignupMode)
    v["materials"] = _multi_line(data.get("materials"))
    if len(v["materials"]) > 2000:
        result.add("materials", _("Enter at most %(max)d characters.") % {"max": 2000})

    budget = data.get("budget")
    if budget is None or (isinstance(budget, str) and not budget.strip()):
        v["budget"] = None
    else:
        try:
            amount = any_number(budget)
        except ValueError as exc:
            result.add("budget", str(exc))
            amount = None
        if amount is not None and not Decimal(0) <= amount <= MAX_BUDGET:
            result.add("budget", _("Enter an amount between 0 and 9,999,999,999.99."))
        v["budget"] = (
            amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if amount is not None else None
        )
    v["is_key_activity"] = bool(data.get("is_key_activity"))

    kinds = [c.kind for c in [campaign, *v["campaign_tags"]] if isinstance(c, Campaign)]
    figures, figure_errors = clean_figures(kinds, data.get("figures") or {})
    for key, messages in figure_errors.items():
        name = "figures" if key == "__all__" else f"figures.{key}"
        for message in messages:
            result.add(name, message)
    v["figures"] = figures

    result.values = v
    return result


def _unknown_fields(data: dict[str, Any]) -> None:
    """API-05: only the listed fields may be written; status, review and audit fields never."""
    unknown = sorted(set(data) - set(ACTIVITY_FIELDS))
    if unknown:
        raise ValidationError(
            _("These fields cannot be written: %(fields)s.") % {"fields": ", ".join(unknown)}
        )


def _current_values(activity: Activity) -> dict[str, Any]:
    values = {name: getattr(activity, name) for name in ACTIVITY_FIELDS if name not in M2M_FIELDS}
    values["campaign_tags"] = list(activity.campaign_tags.all())
    values["co_organisers"] = list(activity.co_organisers.all())
    return values


def _same(name: str, old: Any, new: Any) -> bool:
    if name in M2M_FIELDS:
        return {o.pk for o in old} == {n.pk for n in new}
    if name == "figures":
        return dict(old or {}) == dict(new or {})
    return old == new


# --- Activities: create and change -------------------------------------------------------------


def activity_create(*, actor, organiser: Organisation, data: dict[str, Any]) -> Activity:
    """A new activity, in draft, owned by ``organiser`` (which must lie in the actor's CREATE
    scope). Co-organisers may be any active organisation, member units included."""
    _require(actor, Action.CREATE, organiser, event_type="activity.create")
    data = dict(data)
    data.pop("organiser", None)
    _unknown_fields(data)
    if not organiser.is_active:
        raise ValidationError({"organiser": [_("This organisation has been dissolved.")]})
    cleaned = activity_clean({**ACTIVITY_DEFAULTS, **data}, organiser=organiser)
    _raise(cleaned.errors)
    values = dict(cleaned.values)
    related = {name: values.pop(name) for name in M2M_FIELDS}
    with transaction.atomic():
        activity = Activity(
            organiser=organiser,
            created_by=None if _is_system(actor) else actor,
            status=ActivityStatus.DRAFT,
            **values,
        )
        activity.full_clean()
        activity.save()
        activity.campaign_tags.set(related["campaign_tags"])
        activity.co_organisers.set(related["co_organisers"])
        audit_log(
            actor=actor,
            event_type="activity.create",
            obj=activity,
            details={
                "organiser": organiser.code,
                "campaign": activity.campaign_id,
                "key_activity": activity.is_key_activity,
            },
        )
    return activity


def activity_update(*, actor, activity: Activity, data: dict[str, Any]) -> list[str]:
    """Change a draft or returned activity; returns the names of the fields that changed.

    Moving it to another organiser needs the CHANGE right there too (AC-03).
    """
    _require(actor, Action.CHANGE, activity.organiser, event_type="activity.update", obj=activity)
    _unknown_fields(data)
    new_organiser = data.get("organiser") or activity.organiser
    if not isinstance(new_organiser, Organisation):
        raise ValidationError({"organiser": [_("Choose an organisation.")]})
    if new_organiser.pk != activity.organiser_id:
        _require(actor, Action.CHANGE, new_organiser, event_type="activity.update", obj=activity)
        if not new_organiser.is_active:
            raise ValidationError({"organiser": [_("This organisation has been dissolved.")]})
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.organiser_id != activity.organiser_id and not (
            _is_system(actor) or can(actor, Action.CHANGE, locked.organiser)
        ):
            raise PermissionDenied  # moved away by someone else meanwhile
        if locked.status not in EDITABLE_STATUSES:
            raise ValidationError(_("Only a draft or a returned activity can be changed."))
        current = _current_values(locked)
        cleaned = activity_clean(
            {**current, **{k: v for k, v in data.items() if k != "organiser"}},
            organiser=new_organiser,
            instance=locked,
        )
        _raise(cleaned.errors)
        changed = [
            name
            for name in ACTIVITY_FIELDS
            if name != "organiser"
            and name in data
            and not _same(name, current[name], cleaned.values[name])
        ]
        if new_organiser.pk != locked.organiser_id:
            changed.insert(0, "organiser")
        if not changed:
            return []
        for name in changed:
            if name == "organiser":
                locked.organiser = new_organiser
            elif name not in M2M_FIELDS:
                setattr(locked, name, cleaned.values[name])
        locked.full_clean()
        update_fields = [name for name in changed if name not in M2M_FIELDS]
        locked.save(update_fields=[*update_fields, "updated_at"])
        for name in M2M_FIELDS:
            if name in changed:
                getattr(locked, name).set(cleaned.values[name])
        audit_log(
            actor=actor,
            event_type="activity.update",
            obj=locked,
            details={"fields": changed},
        )
    activity.refresh_from_db()
    return changed


# --- The review chain --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One allowed step: from ``source`` by ``action`` to ``target``, decided at ``level``
    (0 the organiser — the CHANGE right over it —, 1 the county, 2 the prefecture)."""

    source: str
    action: str
    target: str
    level: int
    event_type: str
    needs_reason: bool = False
    # An approval of a key activity (重点活动) goes here instead: on to the prefecture.
    key_target: str | None = None
    # Only before the activity starts (a cancellation).
    before_start: bool = False

    def target_for(self, activity: Activity) -> str:
        if self.key_target and activity.is_key_activity:
            return self.key_target
        return self.target


_S = ActivityStatus
_A = ActivityAction
_TRANSITIONS = (
    Transition(_S.DRAFT, _A.SUBMIT, _S.SUBMITTED, 0, event_type="activity.submit"),
    Transition(_S.RETURNED, _A.SUBMIT, _S.SUBMITTED, 0, event_type="activity.submit"),
    Transition(
        _S.SUBMITTED,
        _A.APPROVE,
        _S.PUBLISHED,
        1,
        event_type="activity.review",
        key_target=_S.COUNTY_APPROVED,
    ),
    Transition(
        _S.SUBMITTED, _A.RETURN, _S.RETURNED, 1, event_type="activity.review", needs_reason=True
    ),
    Transition(
        _S.SUBMITTED, _A.REJECT, _S.REJECTED, 1, event_type="activity.review", needs_reason=True
    ),
    Transition(_S.COUNTY_APPROVED, _A.APPROVE, _S.PUBLISHED, 2, event_type="activity.review"),
    Transition(
        _S.COUNTY_APPROVED,
        _A.RETURN,
        _S.RETURNED,
        2,
        event_type="activity.review",
        needs_reason=True,
    ),
    Transition(
        _S.COUNTY_APPROVED,
        _A.REJECT,
        _S.REJECTED,
        2,
        event_type="activity.review",
        needs_reason=True,
    ),
    # Cancelling: by the organiser, before the activity starts; with a reason once reviewers
    # or the public have seen it.
    Transition(
        _S.DRAFT, _A.CANCEL, _S.CANCELLED, 0, event_type="activity.cancel", before_start=True
    ),
    *(
        Transition(
            source,
            _A.CANCEL,
            _S.CANCELLED,
            0,
            event_type="activity.cancel",
            needs_reason=True,
            before_start=True,
        )
        for source in (_S.SUBMITTED, _S.COUNTY_APPROVED, _S.RETURNED, _S.PUBLISHED)
    ),
)
ALLOWED_TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.source, t.action): t for t in _TRANSITIONS
}
# What a step changes; copied back onto the caller's instance.
_STEP_FIELDS = (
    "status",
    "review_level",
    "returned_reason",
    "submitted_at",
    "published_at",
    "updated_at",
)
REVIEW_DECISIONS = (ActivityAction.APPROVE, ActivityAction.RETURN, ActivityAction.REJECT)


def _may_take(actor, step: Transition, activity: Activity) -> bool:
    if _is_system(actor):
        return True
    if step.level == 0:
        return can(actor, Action.CHANGE, activity.organiser)
    return can_review(actor, activity, step.level)


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": [_("Enter at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}]}
        )
    return text


def _event_type(action: str) -> str:
    if action == ActivityAction.SUBMIT:
        return "activity.submit"
    if action == ActivityAction.CANCEL:
        return "activity.cancel"
    return "activity.review"


def _transition(*, actor, activity: Activity, action: str, reason: str = "") -> Activity:
    """Take the step ``action`` on ``activity`` as ``actor`` (see ``ALLOWED_TRANSITIONS``)."""
    reason = _reason(reason)
    denied: tuple[str, int] | None = None
    with transaction.atomic():
        locked = (
            Activity.objects.select_for_update(of=("self",))
            .select_related("organiser")
            .get(pk=activity.pk)
        )
        # Outside the actor's scope altogether: refused before anything about the activity
        # (its status included) is told.
        if not _is_system(actor) and not can(actor, Action.VIEW, locked.organiser):
            denied = (_event_type(action), -1)
        else:
            step = ALLOWED_TRANSITIONS.get((locked.status, action))
            if step is None:
                raise ValidationError(
                    _("“%(action)s” is not possible while the activity is “%(status)s”.")
                    % {
                        "action": ActivityAction(action).label,
                        "status": locked.get_status_display(),
                    }
                )
            if not _may_take(actor, step, locked):
                denied = (step.event_type, step.level)
            else:
                _apply(actor=actor, activity=locked, step=step, reason=reason)
                for name in _STEP_FIELDS:
                    setattr(activity, name, getattr(locked, name))
                return activity
    event_type, level = denied
    audit_log(
        actor=actor,
        event_type=event_type,
        obj=locked,
        outcome=AuditOutcome.DENIED,
        details={"action": action, "level": level},
    )
    raise PermissionDenied


def _apply(*, actor, activity: Activity, step: Transition, reason: str) -> Activity:
    if step.needs_reason and not reason:
        message = (
            _("Give the reason for cancelling.")
            if step.action == ActivityAction.CANCEL
            else _("Give the reason; the organiser will see it.")
        )
        raise ValidationError({"reason": [message]})
    now = timezone.now()
    if step.before_start and activity.starts_at <= now:
        raise ValidationError(_("The activity has already started and can no longer be cancelled."))
    before = activity.status
    target = step.target_for(activity)
    activity.status = target
    update_fields = ["status", "updated_at"]
    if step.action == ActivityAction.SUBMIT:
        activity.submitted_at = now
        activity.review_level = 0
        activity.returned_reason = ""
        update_fields += ["submitted_at", "review_level", "returned_reason"]
    elif step.level:
        activity.review_level = step.level
        update_fields.append("review_level")
        if step.action in (ActivityAction.RETURN, ActivityAction.REJECT):
            activity.returned_reason = reason
            update_fields.append("returned_reason")
    if target == ActivityStatus.PUBLISHED:
        activity.published_at = now
        update_fields.append("published_at")
    activity.save(update_fields=update_fields)
    ActivityReview.objects.create(
        activity=activity,
        reviewer=None if _is_system(actor) else actor,
        level=step.level,
        decision=step.action,
        reason=reason,
        status_before=before,
        status_after=target,
    )
    audit_log(
        actor=actor,
        event_type=step.event_type,
        obj=activity,
        reason=reason,
        details={"action": step.action, "level": step.level, "from": before, "to": target},
    )
    return activity


def activity_submit(*, actor, activity: Activity) -> Activity:
    """A draft or returned activity goes to the county for review."""
    return _transition(actor=actor, activity=activity, action=ActivityAction.SUBMIT)


def activity_review(*, actor, activity: Activity, decision: str, reason: str = "") -> Activity:
    """A reviewer's decision (approve, return, reject) on the step waiting for them.

    Level 1 (county) approves an ordinary activity into ``published`` and a key activity into
    ``county_approved``; level 2 (prefecture) publishes it. Returning and rejecting need a
    reason, which the organiser sees; a rejection is final.
    """
    if decision not in REVIEW_DECISIONS:
        raise ValidationError({"decision": [_("Unknown decision.")]})
    return _transition(actor=actor, activity=activity, action=decision, reason=reason)


def activity_cancel(*, actor, activity: Activity, reason: str = "") -> Activity:
    """The organiser calls the activity off before it starts."""
    return _transition(actor=actor, activity=activity, action=ActivityAction.CANCEL, reason=reason)


# --- Campaigns ---------------------------------------------------------------------------------


def _season(result: Cleaned, value: Any) -> str:
    """``2023`` or a winter ``2023–24`` (typed as 2023-24, 2023－2024, …)."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or "")))
    match = _SEASON.match(text)
    if not match:
        result.add("season", _("Enter a year such as 2023, or a winter such as 2023–24."))
        return text
    first, second = match.group(1), match.group(2)
    if second is None:
        return first
    if int(second[-2:]) != (int(first) + 1) % 100 or (
        len(second) == 4 and int(second) != int(first) + 1
    ):
        result.add("season", _("A winter runs into the next year, e.g. 2023–24."))
    return f"{first}–{(int(first) + 1) % 100:02d}"


def campaign_clean(data: dict[str, Any]) -> Cleaned:
    result = Cleaned()
    v: dict[str, Any] = {}
    v["kind"] = _choice(result, "kind", data.get("kind"), CampaignKind)
    v["title"] = _text(result, "title", data.get("title"), 200, required=True)
    v["season"] = _season(result, data.get("season"))
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    for name, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            result.add(name, _("Enter a date."))
    if not {"starts_on", "ends_on"} & set(result.errors) and ends_on < starts_on:
        result.add("ends_on", _("The campaign cannot end before it starts."))
    v["starts_on"], v["ends_on"] = starts_on, ends_on
    v["description"] = _multi_line(data.get("description"))
    if len(v["description"]) > 5000:
        result.add("description", _("Enter at most %(max)d characters.") % {"max": 5000})
    v["is_active"] = bool(data.get("is_active", True))
    result.values = v
    return result


def _check_campaign_unique(values: dict[str, Any], organiser: Organisation, exclude_pk=None):
    if values["kind"] == CampaignKind.OTHER:
        return
    clash = Campaign.objects.filter(
        organiser=organiser, kind=values["kind"], season=values["season"]
    ).exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(
            {"season": [_("The association already runs this campaign for this season.")]}
        )


def campaign_create(*, actor, organiser: Organisation, data: dict[str, Any]) -> Campaign:
    """A campaign, set up by the prefecture association (the CHANGE right over it)."""
    _require(actor, Action.CHANGE, organiser, event_type="campaign.create")
    unknown = sorted(set(data) - set(CAMPAIGN_FIELDS))
    if unknown:
        raise ValidationError(
            _("These fields cannot be written: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    if organiser.kind != OrganisationKind.PREFECTURE_ASSOCIATION:
        raise ValidationError(
            {"organiser": [_("Campaigns are set up by the prefecture association.")]}
        )
    if not organiser.is_active:
        raise ValidationError({"organiser": [_("This organisation has been dissolved.")]})
    cleaned = campaign_clean({"is_active": True, **data})
    _raise(cleaned.errors)
    with transaction.atomic():
        _check_campaign_unique(cleaned.values, organiser)
        campaign = Campaign(organiser=organiser, **cleaned.values)
        campaign.full_clean()
        campaign.save()
        audit_log(
            actor=actor,
            event_type="campaign.create",
            obj=campaign,
            details={"kind": campaign.kind, "season": campaign.season},
        )
    return campaign


def campaign_update(*, actor, campaign: Campaign, data: dict[str, Any]) -> list[str]:
    """Change a campaign; its kind is fixed once activities belong to it (their figures
    follow the kind)."""
    _require(actor, Action.CHANGE, campaign.organiser, event_type="campaign.update", obj=campaign)
    unknown = sorted(set(data) - set(CAMPAIGN_FIELDS))
    if unknown:
        raise ValidationError(
            _("These fields cannot be written: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        current = {name: getattr(locked, name) for name in CAMPAIGN_FIELDS}
        cleaned = campaign_clean({**current, **data})
        _raise(cleaned.errors)
        changed = [
            name
            for name in CAMPAIGN_FIELDS
            if name in data and cleaned.values[name] != current[name]
        ]
        if not changed:
            return []
        if "kind" in changed and (locked.activities.exists() or locked.tagged_activities.exists()):
            raise ValidationError(
                {"kind": [_("The kind cannot change once activities belong to the campaign.")]}
            )
        if {"kind", "season"} & set(changed):
            _check_campaign_unique(cleaned.values, locked.organiser, exclude_pk=locked.pk)
        for name in changed:
            setattr(locked, name, cleaned.values[name])
        locked.full_clean()
        locked.save(update_fields=[*changed, "updated_at"])
        audit_log(
            actor=actor,
            event_type="campaign.update",
            obj=locked,
            details={"fields": changed},
        )
    campaign.refresh_from_db()
    return changed


def campaign_target_set(
    *, actor, campaign: Campaign, organisation: Organisation, targets: dict[str, Any]
) -> CampaignTarget:
    """Set what ``organisation`` (an association inside the campaign organiser's area,
    usually a county) should reach: figure key → number (``figures.target_specs``)."""
    _require(
        actor, Action.CHANGE, campaign.organiser, event_type="campaign.target_set", obj=campaign
    )
    if organisation.pk == campaign.organiser_id or not organisation.path.startswith(
        campaign.organiser.path
    ):
        raise ValidationError(
            {"organisation": [_("Choose an association inside the campaign's area.")]}
        )
    if not organisation.is_active:
        raise ValidationError({"organisation": [_("This organisation has been dissolved.")]})
    values, errors = clean_targets(campaign.kind, targets)
    _raise(errors)
    with transaction.atomic():
        row, _created = CampaignTarget.objects.update_or_create(
            campaign=campaign,
            organisation=organisation,
            defaults={"targets": values, "set_by": None if _is_system(actor) else actor},
        )
        audit_log(
            actor=actor,
            event_type="campaign.target_set",
            obj=campaign,
            details={"organisation": organisation.code, "targets": values},
        )
    return row


__all__ = [
    "ACTIVITY_FIELDS",
    "ALLOWED_TRANSITIONS",
    "Transition",
    "activity_cancel",
    "activity_clean",
    "activity_create",
    "activity_review",
    "activity_submit",
    "activity_update",
    "campaign_clean",
    "campaign_create",
    "campaign_target_set",
    "campaign_update",
]
