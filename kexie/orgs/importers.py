"""Import of organisations from a sheet: new codes are created, known codes updated.

The rules of ``orgs.services`` (KX + region code for associations, region within the parent's
region, a valid credit code) are run during validation through ``organisation_rules_check``
so that they are reported per row before anything is written. Imports never move an
organisation: a different parent is a row error that points at the move page.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can
from kexie.core.imports import (
    CREATE,
    UNCHANGED,
    UPDATE,
    Column,
    Importer,
    ImportRowError,
    register_importer,
)
from kexie.core.models import Region
from kexie.core.validators import validate_uscc

from .choices import OrganisationKind, OrganisationStatus
from .models import Organisation
from .services import (
    _clean_common,
    organisation_create,
    organisation_delete_unreferenced,
    organisation_update,
)

# Fields an import may set; ``code`` is the key and ``parent`` is never changed by an import.
IMPORT_FIELDS = (
    "name",
    "short_name",
    "kind",
    "region",
    "uscc",
    "contact_person",
    "contact_phone",
    "email",
    "address",
)
# Fields that cannot be blank on an organisation: an empty cell keeps the stored value.
KEEP_WHEN_BLANK = ("kind", "region")
_CHUNK = 500
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._\-]*$")


def _compact(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def parse_code(text: str) -> str:
    value = _compact(text).upper()
    if not _CODE_RE.match(value):
        raise ValidationError(
            gettext("A code consists of letters, digits, dots, hyphens and underscores only.")
        )
    return value


def _kind_variants(label: str) -> set[str]:
    text = unicodedata.normalize("NFKC", label)
    variants = {text}
    match = re.match(r"^(.*?)\s*\((.*)\)\s*$", text)
    if match:
        variants.update({match.group(1), match.group(2)})
    return {"".join(v.split()).casefold() for v in variants if v.strip()}


@cache
def _kind_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    languages = [code for code, _name in settings.LANGUAGES] + [None]
    for value, label in OrganisationKind.choices:
        lookup[value.casefold()] = value
        for language in languages:
            with translation.override(language):
                for variant in _kind_variants(str(label)):
                    lookup.setdefault(variant, value)
    return lookup


def parse_kind(text: str) -> str:
    """An organisation kind from its code value or its label (whole, or either part of
    "Label (中文)") in any of the site's languages."""
    key = "".join(unicodedata.normalize("NFKC", text).split()).casefold()
    value = _kind_lookup().get(key)
    if value is None:
        raise ValidationError(
            gettext("Unknown type %(value)s. Use one of the types listed in the template.")
            % {"value": text}
        )
    return value


def kind_label(value: str) -> str:
    return str(OrganisationKind(value).label) if value in OrganisationKind.values else value


def parse_region_code(text: str) -> str:
    value = _compact(text)
    if not (value.isascii() and value.isdigit() and len(value) in (6, 12)):
        raise ValidationError(gettext("A region code has 6 or 12 digits."))
    return value


def parse_uscc(text: str) -> str:
    return validate_uscc(text)


def parse_email(text: str) -> str:
    value = _compact(text)
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(gettext("Enter a valid email address.")) from None
    return value


def parse_phone(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


COLUMNS = (
    Column(
        key="code",
        header=_("Organisation code"),
        required=True,
        max_length=32,
        parser=parse_code,
        example="KX654221100000",
        help_text=_("Unique; an association at a region uses KX + the region code."),
        aliases=("组织代码",),
    ),
    Column(
        key="name",
        header=_("Name"),
        required=True,
        max_length=120,
        example="额敏镇科普协会",
        aliases=("名称",),
    ),
    Column(
        key="short_name",
        header=_("Short name"),
        max_length=40,
        aliases=("简称",),
    ),
    Column(
        key="kind",
        header=_("Type"),
        parser=parse_kind,
        example=OrganisationKind.TOWNSHIP_ASSOCIATION.label,
        help_text=_("Required for a new organisation; one of the types of the organisation tree."),
        aliases=("类型",),
    ),
    Column(
        key="parent",
        header=_("Parent organisation code"),
        max_length=32,
        parser=parse_code,
        example="KX654221",
        help_text=_(
            "Required except for the top organisation. May be an organisation in an earlier "
            "or later row of the same file. Imports do not move organisations."
        ),
        aliases=("上级组织代码",),
    ),
    Column(
        key="region",
        header=_("Region code"),
        parser=parse_region_code,
        example="654221100000",
        help_text=_("Required for a new organisation; 6 or 12 digits from the region table."),
        aliases=("行政区划代码",),
    ),
    Column(
        key="uscc",
        header=_("Unified social credit code"),
        parser=parse_uscc,
        aliases=("统一社会信用代码",),
    ),
    Column(
        key="contact_person",
        header=_("Contact person"),
        max_length=40,
        aliases=("联系人",),
    ),
    Column(
        key="contact_phone",
        header=_("Office telephone"),
        max_length=32,
        parser=parse_phone,
        example="0901-3333333",
        aliases=("办公电话",),
    ),
    Column(
        key="email",
        header=_("Email"),
        max_length=254,
        parser=parse_email,
        aliases=("电子邮箱", "邮箱"),
    ),
    Column(
        key="address",
        header=_("Address"),
        max_length=200,
        aliases=("地址",),
    ),
)


def organisation_rules_check(
    *,
    kind: str,
    code: str,
    region: Region,
    parent: Organisation | None,
    uscc: str,
    instance: Organisation | None = None,
) -> dict[str, list[str]]:
    """The services' own rules for one organisation, as ``{field: [messages]}`` (empty when
    the organisation may be saved). Used to report rule violations per row before writing."""
    try:
        _clean_common(
            kind=kind, code=code, region=region, parent=parent, uscc=uscc, instance=instance
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            return {key: list(messages) for key, messages in exc.message_dict.items()}
        return {"code": list(exc.messages)}
    return {}


def _fetch_orgs(codes: set[str]) -> dict[str, Organisation]:
    codes_list = sorted(code for code in codes if code)
    result: dict[str, Organisation] = {}
    for start in range(0, len(codes_list), _CHUNK):
        chunk = codes_list[start : start + _CHUNK]
        for org in Organisation.objects.filter(code__in=chunk).select_related(
            "region", "parent", "parent__region"
        ):
            result[org.code] = org
    return result


def _fetch_regions(codes: set[str]) -> dict[str, Region]:
    codes_list = sorted(code for code in codes if code)
    result: dict[str, Region] = {}
    for start in range(0, len(codes_list), _CHUNK):
        chunk = codes_list[start : start + _CHUNK]
        for region in Region.objects.filter(code__in=chunk):
            result[region.code] = region
    return result


def _stored(org: Organisation, field: str) -> Any:
    if field == "region":
        return org.region.code
    return getattr(org, field) or ""


def _changes(org: Organisation, row: dict[str, Any]) -> dict[str, Any]:
    """Fields of ``row`` whose (cleaned) value differs from the stored one, as stored values
    (region as its code)."""
    changes: dict[str, Any] = {}
    for field in IMPORT_FIELDS:
        if field not in row:
            continue
        value = row[field]
        if isinstance(value, str):
            value = value.strip()
        if field in KEEP_WHEN_BLANK and not value:
            continue
        if value != _stored(org, field):
            changes[field] = value
    return changes


@register_importer
class OrganisationImporter(Importer):
    code = "orgs.organisation"
    title = _("Organisations")
    columns = COLUMNS
    unique_columns = ("code",)
    notes = (
        _(
            "A row whose code already exists updates that organisation; "
            "importing the same file twice changes nothing."
        ),
    )

    def validate_rows(self, rows, *, user, add_error) -> None:
        codes = {row["code"] for row in rows if row.get("code")}
        parent_codes = {row["parent"] for row in rows if row.get("parent")}
        existing = _fetch_orgs(codes | parent_codes)
        regions = _fetch_regions({row["region"] for row in rows if row.get("region")})
        new_rows = {
            row["code"]: row
            for row in rows
            if row.get("code") and row["code"] not in existing and "code" not in row["_invalid"]
        }

        for row in rows:
            if "code" in row["_invalid"] or not row.get("code"):
                continue
            region_code = row.get("region") or ""
            if region_code and region_code not in regions:
                row["_invalid"].add("region")
                add_error(
                    row,
                    "region",
                    gettext("The region code %(code)s is not in the region table.")
                    % {"code": region_code},
                )
            org = existing.get(row["code"])
            if org is not None:
                self._validate_update(row, org, regions, user=user, add_error=add_error)
            else:
                self._validate_create(row, existing, new_rows, regions, user, add_error)

        rows[:] = self._parents_first(rows, existing, new_rows, add_error)

    def _validate_update(self, row, org, regions, *, user, add_error) -> None:
        if user is not None and not (
            can(user, Action.IMPORT, org) and can(user, Action.CHANGE, org)
        ):
            add_error(
                row,
                "code",
                gettext("The organisation %(code)s lies outside your scope.") % {"code": org.code},
            )
            return
        if "parent" in row and "parent" not in row["_invalid"]:
            parent_code = row["parent"]
            if org.parent is None and parent_code:
                add_error(
                    row,
                    "parent",
                    gettext("This is the top organisation; leave its parent empty."),
                )
            elif org.parent is not None and not parent_code:
                add_error(row, "parent", gettext("This value is required."))
            elif org.parent is not None and parent_code != org.parent.code:
                add_error(
                    row,
                    "parent",
                    gettext(
                        "The current parent is %(code)s. Imports do not move organisations; "
                        "use the Move page of the organisation instead."
                    )
                    % {"code": org.parent.code},
                )
        if row["_invalid"] & {"kind", "region", "uscc"}:
            row["_action"] = UPDATE
            return
        changes = _changes(org, row)
        region = regions.get(changes["region"]) if "region" in changes else org.region
        problems = organisation_rules_check(
            kind=changes.get("kind", org.kind),
            code=org.code,
            region=region,
            parent=org.parent,
            uscc=changes.get("uscc", org.uscc),
            instance=org,
        )
        self._report_rules(row, problems, add_error)
        row["_action"] = UPDATE if changes else UNCHANGED

    def _validate_create(self, row, existing, new_rows, regions, user, add_error) -> None:
        row["_action"] = CREATE
        for key in ("kind", "region", "parent"):
            if key not in row["_invalid"] and not row.get(key):
                row["_invalid"].add(key)
                add_error(row, key, gettext("This value is required for a new organisation."))
        parent_code = row.get("parent") or ""
        parent: Organisation | None = None
        if parent_code and "parent" not in row["_invalid"]:
            parent = existing.get(parent_code)
            if parent is not None:
                if user is not None and not (
                    can(user, Action.IMPORT, parent) and can(user, Action.CREATE, parent)
                ):
                    row["_invalid"].add("parent")
                    add_error(
                        row,
                        "parent",
                        gettext("The parent organisation %(code)s lies outside your scope.")
                        % {"code": parent_code},
                    )
                    return
                if parent.status != OrganisationStatus.ACTIVE:
                    add_error(
                        row, "parent", gettext("A dissolved organisation cannot get new units.")
                    )
            elif parent_code in new_rows and parent_code != row["code"]:
                parent_row = new_rows[parent_code]
                # A stand-in for the organisation another row of the file will create; when its
                # region is unknown (an error on that row) the child's own region stands in.
                parent_region = regions.get(parent_row.get("region") or "") or regions.get(
                    row.get("region") or ""
                )
                if parent_region is not None:
                    parent = Organisation(
                        code=parent_code, kind=parent_row.get("kind") or "", region=parent_region
                    )
            elif parent_code != row["code"]:
                row["_invalid"].add("parent")
                add_error(
                    row,
                    "parent",
                    gettext(
                        "The parent organisation %(code)s exists neither in the system nor in "
                        "this file."
                    )
                    % {"code": parent_code},
                )
        if row["_invalid"] & {"kind", "region", "uscc", "parent"} or parent is None:
            return
        problems = organisation_rules_check(
            kind=row["kind"],
            code=row["code"],
            region=regions[row["region"]],
            parent=parent,
            uscc=row.get("uscc") or "",
        )
        self._report_rules(row, problems, add_error)

    def _report_rules(self, row, problems: dict[str, list[str]], add_error) -> None:
        for field, messages in problems.items():
            key = field if field in {c.key for c in self.columns} else "code"
            for message in messages:
                add_error(row, key, message)

    def _parents_first(self, rows, existing, new_rows, add_error) -> list[dict[str, Any]]:
        """Order rows so that a parent created by the file comes before its children."""
        placed: set[str] = set()
        ordered: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        for row in rows:
            code = row.get("code")
            parent_code = row.get("parent") or ""
            if code in new_rows and parent_code in new_rows and parent_code not in existing:
                waiting.append(row)
            else:
                ordered.append(row)
                if code:
                    placed.add(code)
        progress = True
        while waiting and progress:
            progress = False
            still: list[dict[str, Any]] = []
            for row in waiting:
                if row["parent"] in placed and row["parent"] != row["code"]:
                    ordered.append(row)
                    placed.add(row["code"])
                    progress = True
                else:
                    still.append(row)
            waiting = still
        for row in waiting:
            add_error(
                row,
                "parent",
                gettext("The chain of parent organisations loops back to this row."),
            )
            ordered.append(row)
        return ordered

    # --- Writing -------------------------------------------------------------------------------

    def commit_rows(self, rows, *, user, progress, log):
        codes = {row["code"] for row in rows} | {row["parent"] for row in rows if row.get("parent")}
        existing = _fetch_orgs(codes)
        regions = _fetch_regions({row["region"] for row in rows if row.get("region")})
        details = {"import_log": log.pk} if log.pk else {"import": log.filename}
        created: list[int] = []
        updated: list[dict[str, Any]] = []
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
        for done, row in enumerate(rows, start=1):
            try:
                org = existing.get(row["code"])
                if org is None:
                    new = self._create(row, existing, regions, user=user, details=details)
                    existing[new.code] = new
                    created.append(new.pk)
                    counts[CREATE] += 1
                else:
                    changes = _changes(org, row)
                    if not changes:
                        counts[UNCHANGED] += 1
                    else:
                        self._require(user, org, Action.CHANGE)
                        before = {field: _stored(org, field) for field in changes}
                        data = {
                            field: regions[value] if field == "region" else value
                            for field, value in changes.items()
                        }
                        organisation_update(
                            actor=user, organisation=org, data=data, audit_details=details
                        )
                        updated.append(
                            {"pk": org.pk, "code": org.code, "before": before, "after": changes}
                        )
                        counts[UPDATE] += 1
            except ValidationError as exc:
                raise ImportRowError(row["_row"], "; ".join(exc.messages)) from exc
            except PermissionDenied as exc:
                raise ImportRowError(
                    row["_row"],
                    gettext("The organisation %(code)s lies outside your scope.")
                    % {"code": row["code"]},
                ) from exc
            progress.advance(done)
        return counts, {"created": created, "updated": updated}

    @staticmethod
    def _require(user, org: Organisation, action: str) -> None:
        if user is not None and not (can(user, Action.IMPORT, org) and can(user, action, org)):
            raise PermissionDenied

    def _create(self, row, existing, regions, *, user, details) -> Organisation:
        parent = existing.get(row.get("parent") or "")
        if parent is None:
            raise ImportRowError(
                row["_row"],
                gettext("The parent organisation %(code)s does not exist.")
                % {"code": row.get("parent") or ""},
            )
        self._require(user, parent, Action.CREATE)
        return organisation_create(
            actor=user,
            parent=parent,
            name=row["name"],
            kind=row["kind"],
            code=row["code"],
            region=regions[row["region"]],
            short_name=row.get("short_name") or "",
            uscc=row.get("uscc") or "",
            contact_person=row.get("contact_person") or "",
            contact_phone=row.get("contact_phone") or "",
            email=row.get("email") or "",
            address=row.get("address") or "",
            audit_details=details,
        )

    def undo_rows(self, undo_data, *, user, log):
        reason = gettext("Undo of import %(file)s") % {"file": log.filename}
        details = {"import_log": log.pk, "undo": True}
        deleted = 0
        try:
            for pk in reversed(undo_data.get("created", [])):
                org = Organisation.objects.filter(pk=pk).first()
                if org is None:
                    continue
                organisation_delete_unreferenced(actor=user, organisation=org, reason=reason)
                deleted += 1
            restored = 0
            kept: list[str] = []
            for item in reversed(undo_data.get("updated", [])):
                org = Organisation.objects.select_related("region").filter(pk=item["pk"]).first()
                if org is None:
                    continue
                data: dict[str, Any] = {}
                for field, before in item["before"].items():
                    # A field changed again after the import keeps its newer value.
                    if _stored(org, field) != item["after"].get(field):
                        kept.append(f"{item['code']}.{field}")
                        continue
                    data[field] = Region.objects.get(code=before) if field == "region" else before
                if data:
                    organisation_update(
                        actor=user, organisation=org, data=data, audit_details=details
                    )
                    restored += 1
        except ValidationError as exc:
            raise ValidationError(
                gettext("The import cannot be undone: %(reason)s")
                % {"reason": " ".join(exc.messages)}
            ) from exc
        except PermissionDenied as exc:
            raise ValidationError(
                gettext(
                    "The import cannot be undone: some of its organisations lie outside your "
                    "scope now."
                )
            ) from exc
        return {"deleted": deleted, "restored": restored, "kept": kept}


def organisation_export_value(org: Organisation, key: str) -> Any:
    """The value of column ``key`` for ``org`` as the importer reads it back (for exports)."""
    if key == "kind":
        return kind_label(org.kind)
    if key == "parent":
        return org.parent.code if org.parent_id else ""
    if key == "region":
        return org.region.code
    return getattr(org, key) or ""


__all__ = [
    "COLUMNS",
    "OrganisationImporter",
    "organisation_export_value",
    "organisation_rules_check",
    "parse_kind",
]
