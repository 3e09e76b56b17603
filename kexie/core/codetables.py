"""Loading and looking up the national code tables and the region table.

The tables live as CSV files in ``core/data`` (with their source and date in
``sources.json``) so that they are reviewed like code and loaded the same way everywhere.
``code_tables_sync`` is idempotent: running it after every deployment brings the database in
line with the files without duplicating rows, and entries that disappear from a file are only
deactivated, because old records still point at them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from importlib import resources
from typing import Any

from django.db import transaction

from .choices import CodeTable, RegionLevel, TitleLevel, TownshipKind
from .models import CodeEntry, CodeTableVersion, Region

REGIONS = "regions"
REGION_COLUMNS = (
    "code",
    "name",
    "level",
    "parent_code",
    "township_kind",
    "is_xpcc",
    "valid_from",
    "valid_to",
    "replaced_by",
    "latitude",
    "longitude",
)
ENTRY_COLUMNS = ("code", "name", "category", "level", "is_local_extension", "sort_order")
COORDINATE_PLACES = Decimal("0.000001")


class CodeTableDataError(ValueError):
    """A data file in ``core/data`` is malformed; raised before anything is written."""


# --- Reading the files -----------------------------------------------------------------------


def _data_file(name: str) -> str:
    return (resources.files("kexie.core") / "data" / name).read_text(encoding="utf-8")


def read_csv(name: str, columns: Iterable[str]) -> list[dict[str, str]]:
    """Rows of ``core/data/<name>`` as dictionaries; the header must list ``columns``."""
    reader = csv.DictReader(io.StringIO(_data_file(name)))
    expected = list(columns)
    if reader.fieldnames != expected:
        raise CodeTableDataError(f"{name}: header {reader.fieldnames} is not {expected}")
    rows = [{key: (value or "").strip() for key, value in row.items()} for row in reader]
    codes = [row["code"] for row in rows]
    if len(set(codes)) != len(codes):
        raise CodeTableDataError(f"{name}: duplicate codes")
    return rows


def read_sources() -> dict[str, dict[str, str]]:
    """``sources.json``: for each table its source standard, edition and date."""
    return json.loads(_data_file("sources.json"))


def _bool(value: str, where: str) -> bool:
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no", ""}:
        return False
    raise CodeTableDataError(f"{where}: {value!r} is not a boolean")


def _int_or_none(value: str) -> int | None:
    return int(value) if value else None


def _decimal_or_none(value: str) -> Decimal | None:
    return Decimal(value).quantize(COORDINATE_PLACES) if value else None


def _choice(value: str, choices: Any, where: str, *, blank: bool) -> str:
    if (blank and value == "") or value in choices.values:
        return value
    raise CodeTableDataError(f"{where}: {value!r} is not one of {list(choices.values)}")


# --- Sync --------------------------------------------------------------------------------------


def _region_fields(row: dict[str, str]) -> dict[str, Any]:
    where = f"regions.csv {row['code']}"
    return {
        "name": row["name"],
        "level": _choice(row["level"], RegionLevel, where, blank=False),
        "township_kind": _choice(row["township_kind"], TownshipKind, where, blank=True),
        "is_xpcc": _bool(row["is_xpcc"], where),
        "valid_from": _int_or_none(row["valid_from"]),
        "valid_to": _int_or_none(row["valid_to"]),
        "latitude": _decimal_or_none(row["latitude"]),
        "longitude": _decimal_or_none(row["longitude"]),
    }


def _sync_regions(rows: list[dict[str, str]]) -> int:
    """Two passes: first every region's own fields, then ``parent`` and ``replaced_by``,
    which may point at rows created in the same run. Only changed rows are written."""
    fields = {row["code"]: _region_fields(row) for row in rows}
    existing = {region.code: region for region in Region.objects.all()}

    to_create = []
    to_update = []
    for code, values in fields.items():
        region = existing.get(code)
        if region is None:
            to_create.append(Region(code=code, **values))
        elif any(getattr(region, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(region, name, value)
            to_update.append(region)
    Region.objects.bulk_create(to_create)
    if to_update:
        Region.objects.bulk_update(to_update, list(next(iter(fields.values())).keys()))

    by_code = {region.code: region for region in Region.objects.filter(code__in=fields)}
    links = []
    for row in rows:
        region = by_code[row["code"]]
        targets = {}
        for field_name, column in (("parent", "parent_code"), ("replaced_by", "replaced_by")):
            target_code = row[column]
            if target_code and target_code not in by_code:
                raise CodeTableDataError(
                    f"regions.csv {row['code']}: unknown {column} {target_code}"
                )
            targets[field_name] = by_code[target_code].pk if target_code else None
        if region.parent_id != targets["parent"] or region.replaced_by_id != targets["replaced_by"]:
            region.parent_id = targets["parent"]
            region.replaced_by_id = targets["replaced_by"]
            links.append(region)
    if links:
        Region.objects.bulk_update(links, ["parent", "replaced_by"])
    return len(rows)


def _entry_fields(table: str, row: dict[str, str], position: int) -> dict[str, Any]:
    where = f"{table}.csv {row['code']}"
    if not row["code"] or not row["name"]:
        raise CodeTableDataError(f"{where}: code and name are required")
    return {
        "name": row["name"],
        "category": row["category"],
        "level": _choice(row["level"], TitleLevel, where, blank=True),
        "is_local_extension": _bool(row["is_local_extension"], where),
        "sort_order": int(row["sort_order"]) if row["sort_order"] else position * 10,
        "is_active": True,
    }


def _sync_entries(table: str, rows: list[dict[str, str]]) -> int:
    fields = {
        row["code"]: _entry_fields(table, row, position)
        for position, row in enumerate(rows, start=1)
    }
    existing = {entry.code: entry for entry in CodeEntry.objects.filter(table=table)}
    to_create = []
    to_update = []
    for code, values in fields.items():
        entry = existing.get(code)
        if entry is None:
            to_create.append(CodeEntry(table=table, code=code, **values))
        elif any(getattr(entry, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(entry, name, value)
            to_update.append(entry)
    CodeEntry.objects.bulk_create(to_create)
    if to_update:
        CodeEntry.objects.bulk_update(to_update, list(next(iter(fields.values())).keys()))
    CodeEntry.objects.filter(table=table, is_active=True).exclude(code__in=fields).update(
        is_active=False
    )
    return len(rows)


def _record_version(table: str, sources: dict[str, dict[str, str]], row_count: int) -> None:
    try:
        source = sources[table]
        values = {
            "source": source["source"],
            "edition": source["edition"],
            "source_date": dt.date.fromisoformat(source["source_date"]),
            "row_count": row_count,
        }
    except (KeyError, ValueError) as exc:
        raise CodeTableDataError(f"sources.json: bad or missing entry for {table}: {exc}") from exc
    CodeTableVersion.objects.update_or_create(table=table, defaults=values)


def code_tables_sync() -> dict[str, int]:
    """Upsert every table in ``core/data`` in one transaction; returns rows per table.

    All files are read and checked before the first write, so a bad file changes nothing.
    """
    sources = read_sources()
    region_rows = read_csv("regions.csv", REGION_COLUMNS)
    entry_rows = {table.value: read_csv(f"{table.value}.csv", ENTRY_COLUMNS) for table in CodeTable}
    counts: dict[str, int] = {}
    with transaction.atomic():
        counts[REGIONS] = _sync_regions(region_rows)
        for table, rows in entry_rows.items():
            counts[table] = _sync_entries(table, rows)
        for table, count in counts.items():
            _record_version(table, sources, count)
    return counts


# --- Look-ups --------------------------------------------------------------------------------


def region_by_code(code: str) -> Region | None:
    """The region with this GB/T 2260 or statistical code, historical ones included.

    Usable as the ``region_lookup`` of ``validators.validate_id_number``.
    """
    return Region.objects.filter(code=(code or "").strip()).first()


def preloaded_region_lookup() -> Callable[[str], Region | None]:
    """A ``region_lookup`` that reads the region table once, for imports of many rows."""
    regions = {region.code: region for region in Region.objects.all()}
    return regions.get


def code_entry(table: str, code: str) -> CodeEntry | None:
    """The entry ``code`` of ``table``, inactive ones included (old records keep their labels)."""
    return CodeEntry.objects.filter(table=table, code=(code or "").strip()).first()


def code_choices(table: str) -> list[tuple[str, str]]:
    """Active entries of ``table`` as ``(code, name)`` in the table's own order, for pickers."""
    return list(
        CodeEntry.objects.filter(table=table, is_active=True)
        .order_by("sort_order", "code")
        .values_list("code", "name")
    )


__all__ = [
    "REGIONS",
    "CodeTableDataError",
    "code_choices",
    "code_entry",
    "code_tables_sync",
    "preloaded_region_lookup",
    "read_csv",
    "read_sources",
    "region_by_code",
]
