"""Type-specific figures of an activity, as data rather than one model per campaign.

A campaign kind names the figures its activities record: a 科技之冬 session records the village,
the topic, how the demand came about and the six tallied counts; a 大篷车 trip its kilometres and
the people served; a 科学家精神进校园 activity the school and the grades. The values live in
``Activity.figures`` (a JSON object, figure key → value); ``clean_figures`` is the one gate
every value passes through (forms, imports and the API alike).

Stored values are JSON numbers (whole numbers as ``int``, decimals as ``float`` rounded to two
places, so that the databases can sum them), text, a choice's value, or an organisation's id.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kexie.core.text import clean_pasted_text

from .choices import CampaignKind, DemandSource, FigureKind, WinterTopic

# An upper bound for any count or distance: far above any real figure, it catches a pasted ID
# or phone number in a count column.
MAX_FIGURE = 100_000_000
DECIMAL_PLACES = Decimal("0.01")
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")


@dataclass(frozen=True)
class FigureSpec:
    """One figure: its key in ``Activity.figures``, label, unit and value kind."""

    key: str
    label: Promise
    kind: str
    unit: Promise | str = ""
    required_at_close: bool = False
    choices: type[models.TextChoices] | None = None
    max_length: int = 100
    organisation_kind: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.kind in (FigureKind.INTEGER, FigureKind.DECIMAL)


# --- The figures ------------------------------------------------------------------------------

VILLAGE = FigureSpec(
    key="village",
    label=_("village"),
    kind=FigureKind.TEXT,
    required_at_close=True,
    max_length=60,
)
WINTER_TOPIC = FigureSpec(
    key="topic",
    label=_("training topic"),
    kind=FigureKind.CHOICE,
    choices=WinterTopic,
    required_at_close=True,
)
DEMAND_SOURCE = FigureSpec(
    key="demand_source",
    label=_("demand source"),
    kind=FigureKind.CHOICE,
    choices=DemandSource,
)
FARMERS_REACHED = FigureSpec(
    key="farmers_reached",
    label=_("farmers and herders reached (受益农牧民人次)"),
    kind=FigureKind.INTEGER,
    unit=_("person-times"),
    required_at_close=True,
)
EXPERT_VISITS = FigureSpec(
    key="expert_visits",
    label=_("expert visits (专家人次)"),
    kind=FigureKind.INTEGER,
    unit=_("person-times"),
    required_at_close=True,
)
LEAFLETS = FigureSpec(
    key="leaflets",
    label=_("materials handed out (发放资料份数)"),
    kind=FigureKind.INTEGER,
    unit=_("copies"),
    required_at_close=True,
)
BOOKS = FigureSpec(
    key="books",
    label=_("books donated (赠书册数)"),
    kind=FigureKind.INTEGER,
    unit=_("volumes"),
    required_at_close=True,
)
KILOMETRES = FigureSpec(
    key="kilometres",
    label=_("distance travelled (行程公里)"),
    kind=FigureKind.DECIMAL,
    unit=_("km"),
    required_at_close=True,
)
PEOPLE_SERVED = FigureSpec(
    key="people_served",
    label=_("people served (服务群众人次)"),
    kind=FigureKind.INTEGER,
    unit=_("person-times"),
    required_at_close=True,
)
SCHOOL = FigureSpec(
    key="school",
    label=_("school"),
    kind=FigureKind.ORGANISATION,
    organisation_kind="school",
    required_at_close=True,
)
GRADES = FigureSpec(
    key="grades",
    label=_("grades (年级)"),
    kind=FigureKind.TEXT,
    max_length=60,
)

FIGURES_BY_CAMPAIGN: dict[str, tuple[FigureSpec, ...]] = {
    CampaignKind.WINTER_SCIENCE: (
        VILLAGE,
        WINTER_TOPIC,
        DEMAND_SOURCE,
        FARMERS_REACHED,
        EXPERT_VISITS,
        LEAFLETS,
        BOOKS,
        KILOMETRES,
    ),
    CampaignKind.CARAVAN: (KILOMETRES, PEOPLE_SERVED),
    CampaignKind.SCIENTIST_SPIRIT_SCHOOLS: (SCHOOL, GRADES),
}

# Every campaign target has the number of activities (场次); the others are numeric figures.
TARGET_ACTIVITIES = FigureSpec(
    key="activities",
    label=_("activities (场次)"),
    kind=FigureKind.INTEGER,
    unit=_("sessions"),
)


def _kinds(kind: str | Iterable[str] | None) -> list[str]:
    if kind is None:
        return []
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind if k]


def figure_specs(kind: str | Iterable[str] | None) -> list[FigureSpec]:
    """The figures of one campaign kind, or of several (an activity's campaign and its tags),
    each key once, in registry order."""
    specs: dict[str, FigureSpec] = {}
    for one in _kinds(kind):
        for spec in FIGURES_BY_CAMPAIGN.get(one, ()):
            specs.setdefault(spec.key, spec)
    return list(specs.values())


def target_specs(kind: str) -> list[FigureSpec]:
    """What a campaign of ``kind`` can set targets for: activities, then its numeric figures."""
    return [TARGET_ACTIVITIES] + [spec for spec in figure_specs(kind) if spec.is_numeric]


# --- Validation -------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _number_text(raw: str) -> str:
    """NFKC (full-width digits, signs and points from Chinese input methods), no spaces or
    thousands separators."""
    text = unicodedata.normalize("NFKC", raw)
    return re.sub(r"[\s,]", "", text)


def _to_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise _Invalid(gettext("Enter a number."))
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _Invalid(gettext("Enter a number."))
        return Decimal(str(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise _Invalid(gettext("Enter a number."))
        return raw
    if isinstance(raw, str):
        text = _number_text(raw)
        if not _DECIMAL.match(text):
            raise _Invalid(gettext("Enter a number."))
        try:
            return Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern already refused it
            raise _Invalid(gettext("Enter a number.")) from exc
    raise _Invalid(gettext("Enter a number."))


def _check_range(value: Decimal) -> None:
    if value < 0:
        raise _Invalid(gettext("The number cannot be negative."))
    if value > MAX_FIGURE:
        raise _Invalid(
            gettext("Enter a number no greater than %(max)s.") % {"max": f"{MAX_FIGURE:,}"}
        )


def _clean_integer(raw: Any) -> int:
    value = _to_decimal(raw)
    _check_range(value)
    if value != value.to_integral_value():
        raise _Invalid(gettext("Enter a whole number."))
    return int(value)


def _clean_decimal(raw: Any) -> float:
    value = _to_decimal(raw)
    _check_range(value)
    return float(value.quantize(DECIMAL_PLACES, rounding=ROUND_HALF_UP))


def _clean_text(spec: FigureSpec, raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _Invalid(gettext("Enter text."))
    text = " ".join(clean_pasted_text(str(raw))[0].split())
    if len(text) > spec.max_length:
        raise _Invalid(gettext("Enter at most %(max)d characters.") % {"max": spec.max_length})
    return text or None


def _clean_choice(spec: FigureSpec, raw: Any) -> str:
    assert spec.choices is not None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    for value, label in spec.choices.choices:
        if text in (value, str(label)):
            return value
    raise _Invalid(
        gettext("Choose one of: %(choices)s.")
        % {"choices": gettext(", ").join(str(label) for label in spec.choices.labels)}
    )


def _clean_organisation(spec: FigureSpec, raw: Any) -> int:
    from kexie.orgs.choices import OrganisationStatus
    from kexie.orgs.models import Organisation

    if isinstance(raw, Organisation):
        raw = raw.pk
    try:
        pk = _clean_integer(raw)
    except _Invalid:
        pk = 0
    if (
        not pk
        or not Organisation.objects.filter(
            pk=pk, kind=spec.organisation_kind, status=OrganisationStatus.ACTIVE
        ).exists()
    ):
        raise _Invalid(gettext("Choose an active school from the organisation list."))
    return pk


def whole_number(raw: Any) -> int:
    """A count (0 … ``MAX_FIGURE``) from a number or typed text (full-width digits, thousands
    separators); raises ``ValueError`` with the message for the user."""
    try:
        return _clean_integer(raw)
    except _Invalid as invalid:
        raise ValueError(invalid.message) from None


def any_number(raw: Any) -> Decimal:
    """A finite number, sign allowed (coordinates, amounts); raises ``ValueError``."""
    try:
        return _to_decimal(raw)
    except _Invalid as invalid:
        raise ValueError(invalid.message) from None


def clean_value(spec: FigureSpec, raw: Any) -> Any:
    """One figure's value, normalised; raises ``ValueError`` with the message for the user."""
    try:
        if spec.kind == FigureKind.INTEGER:
            return _clean_integer(raw)
        if spec.kind == FigureKind.DECIMAL:
            return _clean_decimal(raw)
        if spec.kind == FigureKind.TEXT:
            return _clean_text(spec, raw)
        if spec.kind == FigureKind.CHOICE:
            return _clean_choice(spec, raw)
        if spec.kind == FigureKind.ORGANISATION:
            return _clean_organisation(spec, raw)
    except _Invalid as invalid:
        raise ValueError(invalid.message) from None
    raise ValueError(gettext("Unknown figure."))  # pragma: no cover - a spec with a new kind


def clean_figures(
    kind: str | Iterable[str] | None, data: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate and normalise the figures of an activity of campaign ``kind`` (one kind or
    several). Returns the values to store (empty values left out) and the errors by figure key
    (messages in the active language). Unknown keys are refused, never dropped silently."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if data is None:
        return values, errors
    if not isinstance(data, Mapping):
        return values, {"__all__": [gettext("The figures must be given as figure and value.")]}
    specs = {spec.key: spec for spec in figure_specs(kind)}
    for key, raw in data.items():
        spec = specs.get(key)
        if spec is None:
            errors.setdefault(str(key), []).append(
                gettext("This figure does not belong to the activity's campaign.")
            )
            continue
        if _is_empty(raw):
            continue
        try:
            value = clean_value(spec, raw)
        except ValueError as exc:
            errors.setdefault(key, []).append(str(exc))
            continue
        if value is not None:
            values[key] = value
    return values, errors


def clean_targets(kind: str, data: Mapping[str, Any] | None) -> tuple[dict, dict[str, list[str]]]:
    """Targets of a campaign of ``kind`` (figure key → number), validated like figures."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if not isinstance(data, Mapping):
        return values, {"__all__": [gettext("The targets must be given as figure and number.")]}
    specs = {spec.key: spec for spec in target_specs(kind)}
    for key, raw in data.items():
        spec = specs.get(key)
        if spec is None:
            errors.setdefault(str(key), []).append(
                gettext("This campaign sets no target for this figure.")
            )
            continue
        if _is_empty(raw):
            continue
        try:
            values[key] = clean_value(spec, raw)
        except ValueError as exc:
            errors.setdefault(key, []).append(str(exc))
    return values, errors


def missing_at_close(kind: str | Iterable[str] | None, values: Mapping[str, Any]) -> list[str]:
    """Keys of the figures an activity must have before it can be closed (0 counts as given:
    a mandatory indicator is 0, never blank)."""
    return [
        spec.key
        for spec in figure_specs(kind)
        if spec.required_at_close and values.get(spec.key) in (None, "")
    ]
