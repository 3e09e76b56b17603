"""Duplicates in the talent registry: finding them, merging two records, undoing a merge.

Finding (REG-03): two current records are a candidate pair when they share the ID number's
blind index (certain — cannot normally happen, the index is unique, but a merge undone by hand
or data restored from a backup can bring it back), the mobile number's blind index (certain
with the same name, else probable: families share phones) or name + date of birth + employer
(probable). ``duplicates_find_for`` checks the given records (cheap, called after imports and
creates); ``duplicates_scan`` checks the whole registry with grouped queries (job + command).

Merging keeps one record, gives it the values chosen field by field, moves every row that
points at the other record to it (generic over ``Person._meta.related_objects``, so later
apps' relations are carried too) and marks the other record ``merged_into`` the kept one. Both
records as they were, and the moved rows, go into an encrypted ``MergeLog`` snapshot, so that
nothing is lost and the merge can be undone exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can, scope_paths
from kexie.core.audit import audit_log
from kexie.core.jobs import job_handler
from kexie.core.text import search_key
from kexie.orgs.tree import subtree_q

from . import search
from .choices import DuplicateCertainty, DuplicateReason, DuplicateStatus
from .models import DuplicateCandidate, MergeLog, Person
from .services import PERSON_FIELDS, _derive, responsible_organisation

SCAN_JOB_KIND = "people.duplicates_scan"
MAX_GROUP = 20  # a phone shared by more records (an office line) yields no pairs beyond this
_CHUNK = 1000
# Multi-line fields whose values may also be combined ("both") in a merge.
COMBINABLE_FIELDS = ("achievements", "affiliations")
# Fields that are never copied by the field-by-field choice (derived, bookkeeping).
FROM_KEPT = "kept"
FROM_MERGED = "merged"
FROM_BOTH = "both"


# --- Finding -------------------------------------------------------------------------------------


def _employer_key(employer_id: int | None, employer_text: str) -> str:
    if employer_id:
        return f"org:{employer_id}"
    text = search_key(employer_text or "")
    return f"text:{text}" if text else ""


def _pairs(ids: Sequence[int]) -> Iterable[tuple[int, int]]:
    ids = sorted(set(ids))[:MAX_GROUP]
    for i, first in enumerate(ids):
        for second in ids[i + 1 :]:
            yield first, second


def _store(found: dict[tuple[int, int], tuple[str, str]]) -> int:
    """Create the candidate pairs not yet known (a dismissed pair stays dismissed)."""
    if not found:
        return 0
    pairs = sorted(found)
    existing: set[tuple[int, int]] = set()
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        firsts = {a for a, _b in chunk}
        existing.update(
            DuplicateCandidate.objects.filter(first_id__in=firsts).values_list(
                "first_id", "second_id"
            )
        )
    new = [
        DuplicateCandidate(first_id=a, second_id=b, reason=found[a, b][0], certainty=found[a, b][1])
        for a, b in pairs
        if (a, b) not in existing
    ]
    DuplicateCandidate.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    return len(new)


def _add(found, ids, reason, certainty) -> None:
    rank = {DuplicateCertainty.CERTAIN: 0, DuplicateCertainty.PROBABLE: 1}
    for pair in _pairs(ids):
        if pair not in found or rank[certainty] < rank[found[pair][1]]:
            found[pair] = (reason, certainty)


def _group_rows(rows, found) -> None:
    """Group (pk, id_index, phone_index, name_key, birth_date, employer_id, employer_text)."""
    by_id: dict[str, list[int]] = defaultdict(list)
    by_phone: dict[str, list[tuple[int, str]]] = defaultdict(list)
    by_nbe: dict[tuple, list[int]] = defaultdict(list)
    for pk, id_index, phone_index, name_key, birth, employer_id, employer_text in rows:
        if id_index:
            by_id[id_index].append(pk)
        if phone_index:
            by_phone[phone_index].append((pk, name_key))
        employer = _employer_key(employer_id, employer_text)
        if name_key and birth and employer:
            by_nbe[name_key, birth, employer].append(pk)
    for ids in by_id.values():
        if len(ids) > 1:
            _add(found, ids, DuplicateReason.ID_NUMBER, DuplicateCertainty.CERTAIN)
    for members in by_phone.values():
        if len(members) < 2:
            continue
        by_name: dict[str, list[int]] = defaultdict(list)
        for pk, name_key in members:
            by_name[name_key].append(pk)
        for ids in by_name.values():
            if len(ids) > 1:
                _add(found, ids, DuplicateReason.PHONE, DuplicateCertainty.CERTAIN)
        _add(found, [pk for pk, _n in members], DuplicateReason.PHONE, DuplicateCertainty.PROBABLE)
    for ids in by_nbe.values():
        if len(ids) > 1:
            _add(found, ids, DuplicateReason.NAME_BIRTH_EMPLOYER, DuplicateCertainty.PROBABLE)


_ROW_FIELDS = (
    "pk",
    "id_index",
    "phone_index",
    "name_key",
    "birth_date",
    "employer_id",
    "employer_text",
)


# The current records sharing an ID number, a phone or a name and birth date with any of a set
# of records: one index look-up per record and key, driven from the given ids. (An ORM filter
# "phone in … or (name in … and birth in …)" made the database probe every combination of the
# chunk's names and dates: 12 s on SQLite and 26 s on PostgreSQL for a 100,000-row import.)
# SQLite's CROSS JOIN keeps the given records as the outer loop (left to itself the planner
# starts from the "merged_into IS NULL" index, i.e. every record). Constant text; the ids are
# the only parameter (WEB-02).
_NEIGHBOURS_SQL = {
    "postgresql": """
        SELECT o.id FROM people_person n JOIN people_person o ON o.id_index = n.id_index
        WHERE n.id = ANY(%s) AND o.merged_into_id IS NULL
        UNION
        SELECT o.id FROM people_person n JOIN people_person o ON o.phone_index = n.phone_index
        WHERE n.id = ANY(%s) AND n.phone_index <> '' AND o.merged_into_id IS NULL
        UNION
        SELECT o.id FROM people_person n JOIN people_person o
          ON o.name_key = n.name_key AND o.birth_date = n.birth_date
        WHERE n.id = ANY(%s) AND o.merged_into_id IS NULL""",
    "sqlite": """
        SELECT o.id FROM people_person n CROSS JOIN people_person o ON o.id_index = n.id_index
        WHERE n.id IN (SELECT value FROM json_each(%s)) AND o.merged_into_id IS NULL
        UNION
        SELECT o.id FROM people_person n CROSS JOIN people_person o ON o.phone_index = n.phone_index
        WHERE n.id IN (SELECT value FROM json_each(%s)) AND n.phone_index <> ''
          AND o.merged_into_id IS NULL
        UNION
        SELECT o.id FROM people_person n CROSS JOIN people_person o
          ON o.name_key = n.name_key AND o.birth_date = n.birth_date
        WHERE n.id IN (SELECT value FROM json_each(%s)) AND o.merged_into_id IS NULL""",
}


def _neighbour_ids(ids: list[int]) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_NEIGHBOURS_SQL["postgresql"], [ids] * 3)
        else:
            cursor.execute(_NEIGHBOURS_SQL["sqlite"], [json.dumps(ids)] * 3)
        return [row[0] for row in cursor.fetchall()]


def duplicates_find_for_ids(ids: Sequence[int]) -> int:
    """Look for duplicates of the given records among all current records; returns how many
    new candidate pairs were stored. Set-based (two queries per 500 records)."""
    found: dict[tuple[int, int], tuple[str, str]] = {}
    ids = [int(pk) for pk in ids]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        related = set(_neighbour_ids(chunk)) | set(chunk)
        rows = {
            row[0]: row
            for row in Person.objects.current().filter(pk__in=related).values_list(*_ROW_FIELDS)
        }
        local: dict[tuple[int, int], tuple[str, str]] = {}
        _group_rows(rows.values(), local)
        chunk_set = set(chunk)
        for pair, value in local.items():
            if pair[0] in chunk_set or pair[1] in chunk_set:
                found.setdefault(pair, value)
    return _store(found)


def duplicates_find_for(person: Person) -> int:
    """Look for duplicates of one record (after a create or an edit)."""
    return duplicates_find_for_ids([person.pk])


def duplicates_scan(*, progress=None) -> int:
    """Check the whole registry with grouped queries; returns the number of new pairs."""
    current = Person.objects.current()
    found: dict[tuple[int, int], tuple[str, str]] = {}
    groups = [
        current.exclude(phone_index="")
        .values("phone_index")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("phone_index", flat=True),
        current.exclude(birth_date=None)
        .values("name_key", "birth_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("name_key", "birth_date"),
    ]
    phones = list(groups[0])
    name_births = list(groups[1])
    if progress is not None:
        progress.total(len(phones) + len(name_births))
    done = 0
    for start in range(0, len(phones), _CHUNK):
        chunk = phones[start : start + _CHUNK]
        _group_rows(current.filter(phone_index__in=chunk).values_list(*_ROW_FIELDS), found)
        done += len(chunk)
        if progress is not None:
            progress.advance(done)
    for start in range(0, len(name_births), _CHUNK):
        chunk = name_births[start : start + _CHUNK]
        q = Q(pk__in=[])
        for name_key, birth in chunk:
            q |= Q(name_key=name_key, birth_date=birth)
        _group_rows(current.filter(q).values_list(*_ROW_FIELDS), found)
        done += len(chunk)
        if progress is not None:
            progress.advance(done)
    return _store(found)


@job_handler(SCAN_JOB_KIND)
def duplicates_scan_job(*, job, progress) -> str:
    created = duplicates_scan(progress=progress)
    return _("%(count)s new possible duplicates found.") % {"count": created}


# --- Reading -------------------------------------------------------------------------------------


def _both_in_scope_q(user, action: str) -> Q | None:
    paths = scope_paths(user, action)
    if not paths:
        return None
    return subtree_q(paths, prefix="first__organisation__") & subtree_q(
        paths, prefix="second__organisation__"
    )


def duplicate_list(*, user, status: str = DuplicateStatus.OPEN) -> QuerySet[DuplicateCandidate]:
    """Candidate pairs whose two records the user may both change."""
    q = _both_in_scope_q(user, Action.CHANGE)
    if q is None:
        return DuplicateCandidate.objects.none()
    return (
        DuplicateCandidate.objects.filter(q, status=status)
        .select_related("first", "second", "first__organisation", "second__organisation")
        .order_by("certainty", "-id")
    )


def duplicate_get(*, user, pk: int) -> DuplicateCandidate:
    candidate = _scoped_candidates(user).filter(pk=pk).first()
    if candidate is None:
        raise Http404
    return candidate


def _scoped_candidates(user) -> QuerySet[DuplicateCandidate]:
    q = _both_in_scope_q(user, Action.CHANGE)
    if q is None:
        return DuplicateCandidate.objects.none()
    return DuplicateCandidate.objects.filter(q).select_related(
        "first",
        "second",
        "first__organisation",
        "second__organisation",
        "first__employer",
        "second__employer",
        "first__township",
        "second__township",
    )


def merge_log_list(*, user) -> QuerySet[MergeLog]:
    paths = scope_paths(user, Action.CHANGE)
    if not paths:
        return MergeLog.objects.none()
    return (
        MergeLog.objects.filter(subtree_q(paths, prefix="kept__organisation__"))
        .select_related("kept", "merged", "merged_by", "undone_by")
        .order_by("-id")
    )


def merge_log_get(*, user, pk: int) -> MergeLog:
    log = merge_log_list(user=user).filter(pk=pk).first()
    if log is None or not can(user, Action.CHANGE, log.merged.organisation):
        raise Http404
    return log


# --- Comparing -----------------------------------------------------------------------------------


def _comparable(person: Person, name: str) -> Any:
    field = Person._meta.get_field(name)
    if field.is_relation:
        return getattr(person, field.attname)
    value = getattr(person, name)
    return "" if value is None else value


def default_choices(first: Person, second: Person) -> dict[str, str]:
    """Per field, which record's value to keep: the non-empty one; of two different values,
    the newer record's (``"first"`` / ``"second"``)."""
    newer = "first" if first.updated_at >= second.updated_at else "second"
    choices = {}
    for name in PERSON_FIELDS:
        a, b = _comparable(first, name), _comparable(second, name)
        if a == b:
            continue
        if a in ("", None):
            choices[name] = "second"
        elif b in ("", None):
            choices[name] = "first"
        else:
            choices[name] = newer
    return choices


def differing_fields(first: Person, second: Person) -> list[str]:
    return [n for n in PERSON_FIELDS if _comparable(first, n) != _comparable(second, n)]


# --- Snapshots -----------------------------------------------------------------------------------


def _dump_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _snapshot_of(person: Person) -> dict[str, Any]:
    return {
        f.attname: _dump_value(getattr(person, f.attname)) for f in Person._meta.concrete_fields
    }


def _restore_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for f in Person._meta.concrete_fields:
        if f.primary_key or f.attname not in data:
            continue
        raw = data[f.attname]
        values[f.attname] = f.to_python(raw) if raw is not None else None
    return values


def _person_relations() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) that points at a person — generic, so relations added by
    later apps are carried along by a merge. Hidden relations (``related_name="+"``: the
    candidates and merge logs themselves) and ``merged_into`` are not moved."""
    relations: list[tuple[type[models.Model], str]] = []
    for rel in Person._meta.related_objects:
        if rel.many_to_many:
            through = rel.through
            for f in through._meta.fields:
                if f.is_relation and f.related_model is Person:
                    relations.append((through, f.name))
        elif rel.field.name == "merged_into" and rel.related_model is Person:
            continue
        else:
            relations.append((rel.related_model, rel.field.name))
    return relations


def _move_rows(model, field_name: str, from_pk: int, to_pk: int) -> tuple[list, list]:
    """Move the rows of ``model`` from one person to the other; returns (moved, left) pks.
    Rows that would break a uniqueness rule on the target stay where they are."""
    qs = model._default_manager.filter(**{f"{field_name}_id": from_pk})
    pks = list(qs.values_list("pk", flat=True))
    if not pks:
        return [], []
    try:
        with transaction.atomic():
            qs.update(**{f"{field_name}_id": to_pk})
        return pks, []
    except IntegrityError:
        moved, left = [], []
        for pk in pks:
            try:
                with transaction.atomic():
                    model._default_manager.filter(pk=pk).update(**{f"{field_name}_id": to_pk})
                moved.append(pk)
            except IntegrityError:
                left.append(pk)
        return moved, left


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


# --- Merging -------------------------------------------------------------------------------------


def _combine(a: str, b: str) -> str:
    lines = [line for line in (a or "").splitlines() + (b or "").splitlines() if line.strip()]
    return "\n".join(dict.fromkeys(line.strip() for line in lines))


@transaction.atomic
def person_merge(
    *,
    actor,
    kept: Person,
    merged: Person,
    choices: dict[str, str] | None = None,
    candidate: DuplicateCandidate | None = None,
) -> MergeLog:
    """Merge ``merged`` into ``kept``. ``choices`` maps a field to ``"kept"``, ``"merged"`` or
    (multi-line fields) ``"both"``; a field not named keeps the kept record's value unless that
    is empty. Refused unless the actor may change both records."""
    if kept.pk == merged.pk:
        raise ValidationError(_("A record cannot be merged with itself."))
    locked = {
        p.pk: p
        for p in Person.objects.select_for_update(of=("self",))
        .select_related("organisation", "employer", "township")
        .filter(pk__in=[kept.pk, merged.pk])
    }
    kept, merged = locked[kept.pk], locked[merged.pk]
    for person in (kept, merged):
        if actor is not None and not can(actor, Action.CHANGE, person.organisation):
            raise PermissionDenied
        if person.merged_into_id:
            raise ValidationError(_("One of the records has already been merged."))
    choices = dict(choices or {})
    before_kept, before_merged = _snapshot_of(kept), _snapshot_of(merged)

    applied: dict[str, str] = {}
    for name in PERSON_FIELDS:
        a, b = _comparable(kept, name), _comparable(merged, name)
        if a == b:
            continue
        choice = choices.get(name) or (FROM_MERGED if a in ("", None) else FROM_KEPT)
        if choice == FROM_BOTH and name in COMBINABLE_FIELDS:
            setattr(kept, name, _combine(getattr(kept, name), getattr(merged, name)))
        elif choice == FROM_MERGED:
            field = Person._meta.get_field(name)
            setattr(kept, field.attname, getattr(merged, field.attname))
            if field.is_relation:
                setattr(kept, name, getattr(merged, name))
        else:
            choice = FROM_KEPT
        applied[name] = choice
    if applied.get("township") == FROM_MERGED:
        organisation = responsible_organisation(kept.township) or kept.organisation
        if actor is not None and not can(actor, Action.CHANGE, organisation):
            raise PermissionDenied
        kept.organisation = organisation

    # The merged record stops standing for a person: it gives up its ID number's index so that
    # the kept record may carry the number; its values stay for the record and the undo.
    merged.merged_into = kept
    merged.id_index = None
    merged.save(update_fields=["merged_into", "id_index", "updated_at"])
    _derive(kept)
    kept.save()

    moved: dict[str, list] = {}
    left: dict[str, list] = {}
    for model, field_name in _person_relations():
        key = f"{model._meta.label_lower}:{field_name}"
        done, stayed = _move_rows(model, field_name, merged.pk, kept.pk)
        if done:
            moved[key] = done
        if stayed:
            left[key] = stayed
    # Records merged earlier into the merged one now point at the kept one.
    earlier = list(Person.objects.filter(merged_into=merged).values_list("pk", flat=True))
    if earlier:
        Person.objects.filter(pk__in=earlier).update(merged_into=kept)
    kept.refresh_from_db(fields=["updated_at"])
    snapshot = {
        "kept": before_kept,
        "merged": before_merged,
        "choices": applied,
        "moved": moved,
        "left": left,
        "re_pointed": earlier,
        "kept_updated_at": kept.updated_at.isoformat(),
        "candidate": candidate.pk if candidate is not None else None,
    }
    log = MergeLog.objects.create(
        kept=kept,
        merged=merged,
        snapshot=json.dumps(snapshot, default=_json_default, ensure_ascii=False),
        merged_by=actor if actor is not None and actor.is_authenticated else None,
    )
    pair = sorted([kept.pk, merged.pk])
    DuplicateCandidate.objects.filter(first_id=pair[0], second_id=pair[1]).update(
        status=DuplicateStatus.MERGED, decided_by=log.merged_by, decided_at=timezone.now()
    )
    search.unindex_persons([merged.pk])
    search.index_persons([kept])
    audit_log(
        actor=actor,
        event_type="person.merge",
        obj=kept,
        details={
            "merged": merged.pk,
            "merge_log": log.pk,
            "fields": sorted(n for n, c in applied.items() if c != FROM_KEPT),
            "moved": {key: len(pks) for key, pks in moved.items()},
        },
    )
    return log


def merge_snapshot(log: MergeLog) -> dict[str, Any]:
    return json.loads(log.snapshot)


def merge_not_chosen(log: MergeLog) -> list[dict[str, Any]]:
    """The values the merge did not keep on the kept record: ``[{field, kept, merged, chosen}]``
    (raw values; the page masks the sensitive ones)."""
    snap = merge_snapshot(log)
    rows = []
    for name, choice in snap.get("choices", {}).items():
        attname = Person._meta.get_field(name).attname
        rows.append(
            {
                "field": name,
                "kept": snap["kept"].get(attname),
                "merged": snap["merged"].get(attname),
                "chosen": choice,
            }
        )
    return rows


@transaction.atomic
def person_merge_undo(*, actor, log: MergeLog) -> None:
    """Restore both records exactly as they were and move the related rows back. Refused when
    the kept record changed after the merge (its later changes would be lost)."""
    log = MergeLog.objects.select_for_update().get(pk=log.pk)
    if log.undone_at:
        raise ValidationError(_("This merge has already been undone."))
    snap = merge_snapshot(log)
    locked = {
        p.pk: p
        for p in Person.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(pk__in=[log.kept_id, log.merged_id])
    }
    kept, merged = locked[log.kept_id], locked[log.merged_id]
    for person in (kept, merged):
        if actor is not None and not can(actor, Action.CHANGE, person.organisation):
            raise PermissionDenied
    if kept.updated_at.isoformat() != snap["kept_updated_at"]:
        raise ValidationError(
            _(
                "The kept record was changed after the merge, so the merge cannot be undone "
                "automatically. Edit the records by hand instead."
            )
        )
    if merged.merged_into_id != kept.pk:
        raise ValidationError(_("The merged record has changed since; the merge cannot be undone."))
    for key, pks in snap.get("moved", {}).items():
        label, field_name = key.rsplit(":", 1)
        from django.apps import apps

        model = apps.get_model(label)
        model._default_manager.filter(pk__in=pks).update(**{f"{field_name}_id": merged.pk})
    if snap.get("re_pointed"):
        Person.objects.filter(pk__in=snap["re_pointed"]).update(merged_into=merged)
    # The kept record may carry the merged one's ID number: clear it before restoring both.
    Person.objects.filter(pk=kept.pk).update(id_index=None)
    Person.objects.filter(pk=merged.pk).update(**_restore_values(snap["merged"]))
    Person.objects.filter(pk=kept.pk).update(**_restore_values(snap["kept"]))
    log.undone_at = timezone.now()
    log.undone_by = actor if actor is not None and actor.is_authenticated else None
    log.save(update_fields=["undone_at", "undone_by"])
    pair = sorted([kept.pk, merged.pk])
    DuplicateCandidate.objects.filter(first_id=pair[0], second_id=pair[1]).update(
        status=DuplicateStatus.OPEN, decided_by=None, decided_at=None
    )
    search.index_persons(
        Person.objects.select_related("employer").filter(pk__in=[kept.pk, merged.pk])
    )
    audit_log(
        actor=actor,
        event_type="person.merge_undo",
        obj=kept,
        details={"merged": merged.pk, "merge_log": log.pk},
    )


@transaction.atomic
def duplicate_dismiss(*, actor, candidate: DuplicateCandidate) -> DuplicateCandidate:
    """Record that the two records are different persons; the pair is not proposed again."""
    candidate = (
        DuplicateCandidate.objects.select_for_update()
        .select_related("first__organisation", "second__organisation")
        .get(pk=candidate.pk)
    )
    for person in (candidate.first, candidate.second):
        if actor is not None and not can(actor, Action.CHANGE, person.organisation):
            raise PermissionDenied
    if candidate.status != DuplicateStatus.OPEN:
        raise ValidationError(_("This pair has already been decided."))
    candidate.status = DuplicateStatus.DISMISSED
    candidate.decided_by = actor
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    audit_log(
        actor=actor,
        event_type="person.duplicate_dismiss",
        obj=candidate,
        details={"first": candidate.first_id, "second": candidate.second_id},
    )
    return candidate


__all__ = [
    "COMBINABLE_FIELDS",
    "default_choices",
    "differing_fields",
    "duplicate_dismiss",
    "duplicate_get",
    "duplicate_list",
    "duplicates_find_for",
    "duplicates_find_for_ids",
    "duplicates_scan",
    "merge_log_get",
    "merge_log_list",
    "merge_not_chosen",
    "person_merge",
    "person_merge_undo",
]
