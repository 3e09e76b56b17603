"""Import of persons from a sheet (the 人才库 bulk template, or the overlapping columns of the
天山科技云 and volunteer-platform templates).

Every row goes through ``services.person_clean`` — the single validation of a person's values —
with preloaded look-ups (code tables by code or Chinese name, townships, employers, the ID
numbers already registered), so that a large file is checked quickly. Rows are written with
``bulk.PersonBulkInserter`` in batches and indexed for search in batches; the import as a
whole is audited once (``import.commit``) by the framework. A row whose ID number (or,
without an ID number, whose name and mobile number) is already registered with the same values
is "unchanged", so importing a file twice changes nothing; with different values it is a bad
row (a duplicate).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kexie.accounts.roles import Action
from kexie.accounts.scope import can, scope_root_ids
from kexie.core.choices import CodeTable
from kexie.core.crypto import blind_index
from kexie.core.imports import (
    CREATE,
    UNCHANGED,
    Column,
    Importer,
    ImportRowError,
    register_importer,
)
from kexie.core.masking import mask_email, mask_id_number, mask_phone
from kexie.core.models import Region
from kexie.core.text import normalise_name, search_key, to_simplified
from kexie.core.validators import validate_id_number, validate_mobile
from kexie.orgs.models import Organisation

from . import search
from .bulk import PersonBulkInserter, bulk_page_cache
from .choices import EmployerCategory, PersonSource, ReviewStatus
from .identity import ID_PURPOSE, PHONE_PURPOSE
from .models import Person
from .services import _derive, code_entries, person_clean, responsible_organisation

_CHUNK = 1000
BATCH_SIZE = 2000

# Common short forms of code-table names seen in other platforms' sheets.
_CODE_ALIASES: dict[str, dict[str, str]] = {
    CodeTable.EDUCATION: {
        "研究生": "研究生教育",
        "博士": "博士研究生毕业",
        "博士研究生": "博士研究生毕业",
        "硕士": "硕士研究生毕业",
        "硕士研究生": "硕士研究生毕业",
        "本科": "大学本科毕业",
        "大学本科": "大学本科毕业",
        "大专": "大学专科毕业",
        "专科": "大学专科毕业",
        "大学专科": "大学专科毕业",
        "中专": "中等专科毕业",
        "高中": "普通高中毕业",
        "初中": "初中毕业",
        "小学": "小学毕业",
    },
    CodeTable.POLITICAL_STATUS: {
        "中共党员": "中国共产党党员",
        "党员": "中国共产党党员",
        "中共预备党员": "中国共产党预备党员",
        "预备党员": "中国共产党预备党员",
        "共青团员": "中国共产主义青年团团员",
        "团员": "中国共产主义青年团团员",
    },
}


@functools.lru_cache(maxsize=8192)
def _key(text: str) -> str:
    return "".join(to_simplified(unicodedata.normalize("NFKC", text or "")).split()).casefold()


_lookup_cache: dict[str, tuple[float, dict[str, str]]] = {}


def code_lookup(table: str) -> dict[str, str]:
    """Code or name (simplified, without spaces; ethnic groups also without 族) → code."""
    cached = _lookup_cache.get(table)
    if cached and time.monotonic() - cached[0] < 60:
        return cached[1]
    lookup: dict[str, str] = {}
    entries = code_entries(table)
    for code in entries:
        lookup[_key(code)] = code
    for code, entry in entries.items():
        name = _key(entry.name)
        lookup.setdefault(name, code)
        if table == CodeTable.ETHNICITY and name.endswith("族") and len(name) > 2:
            lookup.setdefault(name[:-1], code)
        if name.endswith("毕业"):
            lookup.setdefault(name[: -len("毕业")], code)
    by_name = {_key(entry.name): code for code, entry in entries.items()}
    for alias, name in _CODE_ALIASES.get(table, {}).items():
        if _key(name) in by_name:
            lookup.setdefault(_key(alias), by_name[_key(name)])
    _lookup_cache[table] = (time.monotonic(), lookup)
    return lookup


def _code_parser(table: str):
    def parse(text: str) -> str:
        code = code_lookup(table).get(_key(text))
        if code is None:
            raise ValidationError(
                gettext("Unknown value %(value)s: give a code or a name from the code table.")
                % {"value": text}
            )
        return code

    return parse


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(text: str) -> str:
    """A date as ISO text from a date cell, ``1985-03-14``, ``1985/3/14``, ``1985.3.14``,
    ``1985年3月14日``, ``19850314`` or an Excel day number."""
    value = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(value)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups())).isoformat()
            except ValueError:
                raise ValidationError(
                    gettext("%(value)s is not a real date.") % {"value": text}
                ) from None
    if value.isdigit() and 1 <= int(value) <= 80000:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
    raise ValidationError(gettext("Write the date as 1985-03-14."))


def parse_id_number(text: str) -> str:
    return validate_id_number(text).value


def parse_phone(text: str) -> str:
    return validate_mobile(text)


_township_cache: list[Any] = [0.0, {}]


def township_lookup() -> dict[str, list[int]]:
    """Township code, name and county + name (simplified, no spaces) → region ids."""
    if _township_cache[1] and time.monotonic() - _township_cache[0] < 60:
        return _township_cache[1]
    lookup: dict[str, list[int]] = {}
    for pk, code, name, parent_name in Region.objects.filter(level="township").values_list(
        "pk", "code", "name", "parent__name"
    ):
        for text in {code, name, f"{parent_name or ''}{name}"}:
            lookup.setdefault(_key(text), []).append(pk)
    _township_cache[0], _township_cache[1] = time.monotonic(), lookup
    return lookup


def parse_township(text: str) -> int:
    ids = township_lookup().get(_key(text), [])
    if not ids:
        raise ValidationError(
            gettext("Unknown township %(value)s: give its name or its 12-digit code.")
            % {"value": text}
        )
    if len(set(ids)) > 1:
        raise ValidationError(
            gettext("Several townships are called %(value)s: give the county too, or the code.")
            % {"value": text}
        )
    return ids[0]


@functools.lru_cache(maxsize=8)
def _employer_categories(language: str | None) -> dict[str, str]:
    """Value, label in ``language`` or label in Chinese (simplified key) → category value."""
    from django.utils import translation

    lookup: dict[str, str] = {}
    with translation.override(language):
        for value, label in EmployerCategory.choices:
            lookup.setdefault(_key(value), value)
            lookup.setdefault(_key(str(label)), value)
    with translation.override("zh-hans"):
        for value, label in EmployerCategory.choices:
            lookup.setdefault(_key(str(label)), value)
    return lookup


def parse_employer_category(text: str) -> str:
    from django.utils import translation

    value = _employer_categories(translation.get_language()).get(_key(text))
    if value is None:
        raise ValidationError(gettext("Unknown employer category %(value)s.") % {"value": text})
    return value


def _clean_name(text: str) -> str:
    return normalise_name(text)


COLUMNS = (
    Column(
        key="name",
        header=_("Full name"),
        required=True,
        max_length=60,
        parser=_clean_name,
        example="张伟",
        aliases=("姓名", "名字"),
    ),
    Column(
        key="gender",
        header=_("Gender"),
        parser=_code_parser(CodeTable.GENDER),
        example="男",
        aliases=("性别",),
    ),
    Column(
        key="ethnicity",
        header=_("Ethnic group"),
        parser=_code_parser(CodeTable.ETHNICITY),
        example="汉族",
        aliases=("民族",),
    ),
    Column(
        key="birth_date",
        header=_("Date of birth"),
        parser=parse_date,
        example="1985-03-14",
        help_text=_("Taken from the ID number when that is given."),
        aliases=("出生日期", "出生年月"),
    ),
    Column(
        key="id_number",
        header=_("ID number"),
        parser=parse_id_number,
        example="18 位身份证号（末位可为 X）",
        help_text=_("18 digits (a 15-digit number is converted); each person only once."),
        aliases=("身份证号", "身份证号码", "证件号码", "公民身份号码"),
    ),
    Column(
        key="phone",
        header=_("Mobile number"),
        parser=parse_phone,
        example="11 位手机号",
        aliases=("手机号", "手机号码", "联系电话", "手机"),
    ),
    Column(
        key="email",
        header=_("E-mail"),
        max_length=254,
        aliases=("电子邮箱", "邮箱"),
    ),
    Column(
        key="political_status",
        header=_("Political status"),
        parser=_code_parser(CodeTable.POLITICAL_STATUS),
        aliases=("政治面貌",),
    ),
    Column(
        key="education",
        header=_("Highest education"),
        parser=_code_parser(CodeTable.EDUCATION),
        example="大学本科毕业",
        aliases=("学历", "最高学历", "文化程度"),
    ),
    Column(
        key="degree",
        header=_("Degree"),
        parser=_code_parser(CodeTable.DEGREE),
        aliases=("学位", "最高学位"),
    ),
    Column(key="school", header=_("Graduated from"), max_length=100, aliases=("毕业院校",)),
    Column(key="major", header=_("Major"), max_length=100, aliases=("所学专业", "专业")),
    Column(
        key="title",
        header=_("Professional title"),
        parser=_code_parser(CodeTable.TITLE),
        aliases=("职称", "专业技术职称"),
    ),
    Column(
        key="employer",
        header=_("Employer"),
        max_length=120,
        example="额敏县第一中学",
        help_text=_("Linked to the organisation of the same name when there is one."),
        aliases=("工作单位", "单位名称", "所在单位", "单位"),
    ),
    Column(
        key="employer_category",
        header=_("Employer category"),
        parser=parse_employer_category,
        aliases=("单位性质", "单位类型"),
    ),
    Column(key="post", header=_("Administrative post"), max_length=60, aliases=("职务",)),
    Column(
        key="township",
        header=_("Township"),
        parser=parse_township,
        example="额敏镇",
        help_text=_(
            "Decides the association responsible for the person; empty means the organisation "
            "you import for."
        ),
        aliases=("所在乡镇", "乡镇", "乡镇（街道）", "所在乡镇（街道）"),
    ),
    Column(
        key="worker_type",
        header=_("Worker type"),
        parser=_code_parser(CodeTable.WORKER_TYPE),
        aliases=("人员类型", "科技工作者类型", "人才类型"),
    ),
    Column(
        key="discipline",
        header=_("Discipline"),
        parser=_code_parser(CodeTable.DISCIPLINE),
        aliases=("学科领域", "学科"),
    ),
    Column(key="research_field", header=_("Research field"), max_length=200, aliases=("研究方向",)),
    Column(
        key="expertise",
        header=_("Technical expertise"),
        max_length=200,
        aliases=("技术专长", "专长", "特长"),
    ),
    Column(key="achievements", header=_("Achievements"), aliases=("主要成就", "主要成果")),
    Column(key="affiliations", header=_("Affiliations"), aliases=("社会兼职",)),
    Column(
        key="tianshan_account",
        header=_("天山科技云 account"),
        max_length=64,
        aliases=("天山科技云账号",),
    ),
)
# Columns compared to decide whether a known person's row is "unchanged".
_COMPARED = tuple(c.key for c in COLUMNS if c.key not in ("id_number", "phone"))
_SENSITIVE_MASKS = {"id_number": mask_id_number, "phone": mask_phone, "email": mask_email}


def _fetch_orgs_by_name(names: set[str]) -> dict[str, Organisation]:
    result: dict[str, Organisation] = {}
    names_list = sorted(n for n in names if n)
    for start in range(0, len(names_list), _CHUNK):
        chunk = names_list[start : start + _CHUNK]
        for org in Organisation.objects.active().filter(name__in=chunk).order_by("path"):
            result.setdefault(org.name, org)
    return result


def _fetch_existing(field: str, keys: set[str]) -> dict[str, list[Person]]:
    result: dict[str, list[Person]] = {}
    keys_list = sorted(k for k in keys if k)
    for start in range(0, len(keys_list), _CHUNK):
        chunk = keys_list[start : start + _CHUNK]
        qs = (
            Person.objects.current()
            .filter(**{f"{field}__in": chunk})
            .select_related("employer", "township")
        )
        for person in qs:
            result.setdefault(getattr(person, field), []).append(person)
    return result


_UNIQUE_VALUES = frozenset({"name", "id_number", "phone", "email", "tianshan_account"})


def _stored(person: Person, key: str) -> Any:
    if key == "employer":
        return person.employer_name or ""
    if key == "township":
        return person.township_id or ""
    value = getattr(person, key)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value or ""


@register_importer
class PersonImporter(Importer):
    code = "people.person"
    title = _("Persons")
    columns = COLUMNS
    unique_columns = ("id_number", "phone")
    allow_partial = True
    notes = (
        _("Codes may be given as the code or as the name from the code table (e.g. 汉族, 本科)."),
        _(
            "A person whose ID number is already registered with the same values is left "
            "unchanged; with different values the row is reported as a duplicate."
        ),
    )

    def __init__(self, *, default_organisation: Organisation | None = None) -> None:
        self.default_organisation = default_organisation

    def compact_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A 100,000-row file is held in memory until it is written: empty cells get no key (a
        missing key and "" mean the same in ``validate_rows``, ``_same`` and ``commit_rows``,
        where every such field defaults to "" or None), and repeated texts (employer, birth
        date, expertise, …) share one string object instead of one per cell."""
        shared = self.__dict__.setdefault("_shared_texts", {})
        compact: dict[str, Any] = {}
        for key, value in row.items():
            if value == "" and not key.startswith("_"):
                continue
            if isinstance(value, str) and key not in _UNIQUE_VALUES and len(value) <= 64:
                value = shared.setdefault(value, value)
            compact[key] = value
        return compact

    def display_value(self, column, value) -> str:
        if column is not None and column.key in _SENSITIVE_MASKS and value:
            return _SENSITIVE_MASKS[column.key](value)
        if column is not None and column.key == "township" and isinstance(value, int):
            region = Region.objects.filter(pk=value).values_list("name", flat=True).first()
            return region or ""
        return super().display_value(column, value)

    # --- validation ------------------------------------------------------------------------------

    def _default_org(self, user) -> Organisation | None:
        if self.default_organisation is not None:
            return self.default_organisation
        if user is None:
            return None
        roots = scope_root_ids(user, Action.IMPORT) & scope_root_ids(user, Action.CREATE)
        if len(roots) == 1:
            return Organisation.objects.filter(pk=next(iter(roots))).first()
        return None

    def validate_rows(self, rows, *, user, add_error) -> None:
        regions = {r.pk: r for r in Region.objects.filter(level="township")}
        employers = _fetch_orgs_by_name({row.get("employer") or "" for row in rows})
        id_keys = {
            row["id_number"]: blind_index(row["id_number"], purpose=ID_PURPOSE)
            for row in rows
            if row.get("id_number") and "id_number" not in row["_invalid"]
        }
        phone_keys = {
            row["phone"]: blind_index(row["phone"], purpose=PHONE_PURPOSE)
            for row in rows
            if row.get("phone") and "phone" not in row["_invalid"]
        }
        by_id = _fetch_existing("id_index", set(id_keys.values()))
        by_phone = _fetch_existing(
            "phone_index",
            {
                phone_keys[row["phone"]]
                for row in rows
                if row.get("phone") in phone_keys and not row.get("id_number")
            },
        )
        default_org = self._default_org(user)
        org_of_township: dict[int, Organisation | None] = {}
        allowed: dict[int, bool] = {}

        def may_import(org: Organisation) -> bool:
            if org.pk not in allowed:
                ok = user is None or (
                    can(user, Action.IMPORT, org) and can(user, Action.CREATE, org)
                )
                if self.default_organisation is not None:
                    ok = ok and org.path.startswith(self.default_organisation.path)
                allowed[org.pk] = ok
            return allowed[org.pk]

        for row in rows:
            data = {key: row[key] for key in row if not key.startswith("_") and key != "employer"}
            data = {k: v for k, v in data.items() if k not in row["_invalid"]}
            if data.get("birth_date"):
                data["birth_date"] = dt.date.fromisoformat(data["birth_date"])
            if "township" in data:
                data["township"] = regions.get(data["township"]) if data["township"] else None
            if "name" not in data:
                data["name"] = row.get("name") or ""
            if row.get("employer") and "employer" not in row["_invalid"]:
                data["employer_text"] = row["employer"]
            cleaned = person_clean(data)
            for key, messages in cleaned.errors.items():
                column_key = key if key in {c.key for c in COLUMNS} else None
                if column_key:
                    row["_invalid"].add(column_key)
                for message in messages:
                    add_error(row, column_key, message)
            values = cleaned.values
            for key in ("name", "gender", "id_number", "phone", "email"):
                if key in values and key in row:
                    row[key] = values[key]
            if values.get("employer_text"):
                row["employer"] = values["employer_text"]
            if (
                values.get("birth_date")
                and "birth_date" not in row["_invalid"]
                and ("birth_date" in row or "id_number" in row)
            ):
                row["birth_date"] = values["birth_date"].isoformat()
            if values.get("gender") and "gender" not in row["_invalid"]:
                row["gender"] = values["gender"]
            if row.get("title") and values.get("title_level"):
                row["_title_level"] = values["title_level"]
            # The responsible organisation and the user's scope over it.
            township_id = row.get("township") or None
            if township_id and "township" not in row["_invalid"]:
                if township_id not in org_of_township:
                    org_of_township[township_id] = responsible_organisation(regions[township_id])
                org = org_of_township[township_id]
            elif not township_id:
                org = default_org
            else:
                org = None
            if org is None and "township" not in row["_invalid"]:
                add_error(
                    row,
                    "township" if township_id else None,
                    gettext("No association is responsible for this township.")
                    if township_id
                    else gettext(
                        "Give the township: you may import for several organisations, so the "
                        "responsible one cannot be chosen for you."
                    ),
                )
            elif org is not None and not may_import(org):
                add_error(
                    row,
                    "township" if township_id else None,
                    gettext("The person would belong to %(org)s, which lies outside your scope.")
                    % {"org": org.name},
                )
            elif org is not None:
                row["_org"] = org.pk
            employer_name = row.get("employer") or ""
            if employer_name and employer_name in employers:
                row["_employer"] = employers[employer_name].pk
            # Known persons: unchanged with the same values, a duplicate otherwise.
            existing: Person | None = None
            if row.get("id_number") in id_keys:
                found = by_id.get(id_keys[row["id_number"]])
                existing = found[0] if found else None
            elif row.get("phone") in phone_keys and not row.get("id_number"):
                name_key = search_key(row.get("name") or "")[:60]
                matches = [
                    p for p in by_phone.get(phone_keys[row["phone"]], []) if p.name_key == name_key
                ]
                existing = matches[0] if matches else None
            if existing is not None:
                if self._same(row, existing):
                    row["_action"] = UNCHANGED
                else:
                    add_error(
                        row,
                        "id_number" if row.get("id_number") else "phone",
                        gettext("This person is already registered (with other values).")
                        if row.get("id_number")
                        else gettext(
                            "A person with this name and mobile number is already registered "
                            "(with other values)."
                        ),
                    )
            else:
                row["_action"] = CREATE

    @staticmethod
    def _same(row: dict[str, Any], person: Person) -> bool:
        for key in _COMPARED:
            if key not in row:
                continue
            value = row[key]
            if value in ("", None):
                continue
            if value != _stored(person, key):
                return False
        return True

    # --- writing ---------------------------------------------------------------------------------

    def commit_rows(self, rows, *, user, progress, log):
        with bulk_page_cache():
            return self._commit_rows(rows, user=user, progress=progress)

    def _commit_rows(self, rows, *, user, progress):
        regions = {r.pk: r for r in Region.objects.filter(level="township")}
        org_ids = {row["_org"] for row in rows if row.get("_org")}
        org_ids |= {row["_employer"] for row in rows if row.get("_employer")}
        orgs = {o.pk: o for o in Organisation.objects.filter(pk__in=org_ids)}
        created: list[int] = []
        counts = {CREATE: 0, UNCHANGED: 0}
        batch: list[Person] = []
        batch_rows: list[int] = []
        done = 0
        inserter = PersonBulkInserter()

        def flush() -> None:
            if not batch:
                return
            try:
                with transaction.atomic():
                    inserter.insert(batch)
            except IntegrityError as exc:
                raise ImportRowError(
                    batch_rows[0],
                    gettext(
                        "A person in rows %(first)s to %(last)s was registered meanwhile by "
                        "someone else; check the file again."
                    )
                    % {"first": batch_rows[0], "last": batch_rows[-1]},
                ) from exc
            search.index_rows(((p.pk, p.name, p.employer_name) for p in batch), fresh=True)
            created.extend(p.pk for p in batch)
            batch.clear()
            batch_rows.clear()

        for row in rows:
            done += 1
            if row.get("_action") == UNCHANGED:
                counts[UNCHANGED] += 1
                continue
            org = orgs.get(row.get("_org"))
            if org is None or (
                user is not None
                and not (can(user, Action.IMPORT, org) and can(user, Action.CREATE, org))
            ):
                raise ImportRowError(
                    row["_row"], gettext("You may not register persons for this organisation.")
                )
            person = Person(
                organisation=org, source=PersonSource.IMPORT, review_status=ReviewStatus.PENDING
            )
            for column in COLUMNS:
                key = column.key
                if key not in row or key in ("employer", "township", "birth_date"):
                    continue
                setattr(person, key, row[key] or "")
            if row.get("birth_date"):
                person.birth_date = dt.date.fromisoformat(row["birth_date"])
            if row.get("township"):
                person.township = regions[row["township"]]
            if row.get("_employer"):
                person.employer = orgs[row["_employer"]]
            elif row.get("employer"):
                person.employer_text = row["employer"]
            if row.get("_title_level"):
                person.title_level = row["_title_level"]
            _derive(person)
            batch.append(person)
            batch_rows.append(row["_row"])
            counts[CREATE] += 1
            if len(batch) >= BATCH_SIZE:
                flush()
                progress.advance(done)
        flush()
        progress.advance(done, force=True)
        from .dedup import duplicates_find_for_ids

        duplicates = duplicates_find_for_ids(created)
        return {**counts, "duplicates": duplicates}, {"created": created}

    def undo_rows(self, undo_data, *, user, log):
        pks = list(undo_data.get("created", []))
        since = log.committed_at
        deleted = 0
        for start in range(0, len(pks), _CHUNK):
            chunk = pks[start : start + _CHUNK]
            qs = Person.objects.filter(pk__in=chunk)
            if since is not None and qs.filter(updated_at__gt=since).exists():
                raise ValidationError(
                    gettext(
                        "The import cannot be undone: some of its persons were changed, reviewed "
                        "or merged since."
                    )
                )
            if Person.objects.filter(merged_into__in=chunk).exists():
                raise ValidationError(
                    gettext("The import cannot be undone: other records were merged into it.")
                )
            if user is not None:
                for org in Organisation.objects.filter(
                    pk__in=qs.values("organisation_id").distinct()
                ):
                    if not can(user, Action.CHANGE, org):
                        raise ValidationError(
                            gettext(
                                "The import cannot be undone: some of its persons lie outside "
                                "your scope now."
                            )
                        )
            search.unindex_persons(chunk)
            deleted += qs.delete()[1].get(Person._meta.label, 0)
        return {"deleted": deleted, "restored": 0}


__all__ = ["COLUMNS", "PersonImporter", "code_lookup", "parse_date"]
