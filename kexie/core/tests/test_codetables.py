"""Tests of ``core.codetables``: the data files, the idempotent sync and the look-ups."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from kexie.core.choices import CodeTable, RegionLevel, TitleLevel, TownshipKind
from kexie.core.codetables import (
    ENTRY_COLUMNS,
    REGION_COLUMNS,
    code_choices,
    code_entry,
    code_tables_sync,
    preloaded_region_lookup,
    read_csv,
    read_sources,
    region_by_code,
)
from kexie.core.models import CodeEntry, CodeTableVersion, Region
from kexie.core.validators import id_check_char, validate_id_number

CURRENT_COUNTIES = {
    "654201": ("塔城市", Decimal("46.751"), Decimal("82.987")),
    "654202": ("乌苏市", Decimal("44.419"), Decimal("84.713")),
    "654203": ("沙湾市", Decimal("44.326"), Decimal("85.619")),
    "654221": ("额敏县", Decimal("46.525"), Decimal("83.628")),
    "654224": ("托里县", Decimal("45.948"), Decimal("83.607")),
    "654225": ("裕民县", Decimal("46.201"), Decimal("82.983")),
    "654226": ("和布克赛尔蒙古自治县", Decimal("46.793"), Decimal("85.728")),
}
TOWNSHIPS_PER_COUNTY = {
    "654201": 11,
    "654202": 33,
    "654203": 23,
    "654221": 22,
    "654224": 12,
    "654225": 7,
    "654226": 12,
}
EXPECTED_COUNTS = {
    "regions": 130,
    "gender": 4,
    "ethnicity": 58,
    "political_status": 13,
    "education": 40,
    "degree": 57,
    "title": 66,
    "discipline": 62,
    "worker_type": 6,
}


def id_number(address: str, birth: dt.date, sequence: int = 35) -> str:
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


def entry_primary_keys() -> dict[tuple[str, str], int]:
    return {
        (table, code): pk
        for table, code, pk in CodeEntry.objects.values_list("table", "code", "id")
    }


def kind_by_code_range(township_part: int) -> str:
    if township_part < 100:
        return TownshipKind.STREET
    if township_part < 200:
        return TownshipKind.TOWN
    if township_part < 400:
        return TownshipKind.TOWNSHIP
    return TownshipKind.FARM


@pytest.fixture
def synced(db) -> dict[str, int]:
    return code_tables_sync()


# --- The data files (no database) -----------------------------------------------------------


def test_regions_file_lists_exactly_120_townships():
    # given the region data file
    rows = read_csv("regions.csv", REGION_COLUMNS)

    # when the township rows are counted per county
    townships = [row for row in rows if row["level"] == RegionLevel.TOWNSHIP]
    per_county: dict[str, int] = {}
    for row in townships:
        per_county[row["parent_code"]] = per_county.get(row["parent_code"], 0) + 1

    # then there are 120, distributed as in the NBS 2023 list
    assert len(townships) == 120
    assert per_county == TOWNSHIPS_PER_COUNTY


def test_every_code_table_file_has_a_source_with_an_iso_date():
    # given sources.json
    sources = read_sources()

    # when the tables are compared with the files that exist
    # then every table has source, edition and a parseable date
    assert set(sources) == {"regions", *CodeTable.values}
    for table, source in sources.items():
        assert source["source"], table
        assert source["edition"], table
        dt.date.fromisoformat(source["source_date"])
    for table in CodeTable.values:
        assert read_csv(f"{table}.csv", ENTRY_COLUMNS), table


# --- Sync: regions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_returns_row_counts_per_table(synced):
    # given a fresh database, synchronised once by the fixture
    # when the counts are read
    # then every table reports its number of rows
    assert synced == EXPECTED_COUNTS


@pytest.mark.django_db
def test_sync_loads_exactly_120_townships_with_statistical_codes(synced):
    # given the synchronised region table
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP).select_related("parent")

    # when the township codes are compared with their county
    # then there are 120, each county code + 3 digits + 000
    assert townships.count() == 120
    for township in townships:
        assert len(township.code) == 12
        assert township.code.startswith(township.parent.code)
        assert township.code.endswith("000")
        assert township.parent.level == RegionLevel.COUNTY
        assert township.parent.valid_to is None


@pytest.mark.django_db
def test_sync_loads_the_seven_current_counties_with_their_centres(synced):
    # given the synchronised region table
    prefecture = Region.objects.get(code="654200")

    # when the current counties are read
    counties = Region.objects.filter(level=RegionLevel.COUNTY, valid_to__isnull=True)

    # then they are the seven of 塔城地区 with their centres, under the prefecture
    assert prefecture.level == RegionLevel.PREFECTURE
    assert prefecture.parent is None
    assert {county.code for county in counties} == set(CURRENT_COUNTIES)
    for county in counties:
        name, latitude, longitude = CURRENT_COUNTIES[county.code]
        assert (county.name, county.latitude, county.longitude) == (name, latitude, longitude)
        assert county.parent == prefecture


@pytest.mark.django_db
def test_historical_county_codes_point_at_their_successors(synced):
    # given the synchronised region table
    shawan_county = Region.objects.get(code="654223")
    wusu_county = Region.objects.get(code="654222")

    # when their validity is inspected
    # then 沙湾县 ends in 2021 for 沙湾市 and 乌苏县 in 1996 for 乌苏市
    assert (shawan_county.name, shawan_county.valid_to) == ("沙湾县", 2021)
    assert shawan_county.replaced_by.code == "654203"
    assert shawan_county.is_valid_in(2020) and not shawan_county.is_valid_in(2021)
    assert (wusu_county.name, wusu_county.valid_to) == ("乌苏县", 1996)
    assert wusu_county.replaced_by.code == "654202"
    assert Region.objects.get(code="654203").valid_from == 2021


@pytest.mark.django_db
def test_township_kind_follows_the_code_ranges(synced):
    # given the synchronised townships
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP)

    # when each kind is compared with its code range
    # then non-XPCC units follow 001-099 street, 100-199 town, 200-399 township, 400-599 farm
    for township in townships:
        if township.is_xpcc:
            assert township.township_kind == TownshipKind.XPCC
        else:
            assert township.township_kind == kind_by_code_range(int(township.code[6:9]))


@pytest.mark.django_db
def test_bingtuan_townships_are_marked_xpcc(synced):
    # given the synchronised townships
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP)

    # when they are split by name
    bingtuan = [t for t in townships if "兵团" in t.name or t.name.startswith("第十师")]
    others = [t for t in townships if t not in bingtuan]

    # then exactly the 兵团 units are XPCC, among them 第十师一八四团 and 一六二团 in 塔城市
    assert len(bingtuan) == 23
    assert all(t.is_xpcc and t.township_kind == TownshipKind.XPCC for t in bingtuan)
    assert not any(t.is_xpcc for t in others)
    assert Region.objects.get(code="654226500000").is_xpcc
    assert Region.objects.get(code="654201502000").is_xpcc
    assert not Region.objects.get(code="654221407000").is_xpcc  # 额敏（兵地、辽阳）工业园区


# --- Sync: idempotency and deactivation -------------------------------------------------------


@pytest.mark.django_db
def test_sync_twice_gives_the_same_counts_and_no_duplicates(synced):
    # given a database synchronised once
    region_ids = dict(Region.objects.values_list("code", "id"))
    entry_ids = entry_primary_keys()

    # when it is synchronised again
    second = code_tables_sync()

    # then the counts, rows and primary keys are unchanged
    assert second == synced
    assert Region.objects.count() == EXPECTED_COUNTS["regions"]
    assert CodeEntry.objects.count() == sum(
        count for table, count in EXPECTED_COUNTS.items() if table != "regions"
    )
    assert CodeTableVersion.objects.count() == len(EXPECTED_COUNTS)
    assert dict(Region.objects.values_list("code", "id")) == region_ids
    assert entry_primary_keys() == entry_ids


@pytest.mark.django_db
def test_entries_missing_from_the_files_are_deactivated_not_deleted(synced):
    # given an entry that is not in gender.csv, referenced perhaps by old records
    stray = CodeEntry.objects.create(table=CodeTable.GENDER, code="5", name="旧代码")

    # when the tables are synchronised
    code_tables_sync()

    # then it still exists but is inactive and out of the pickers
    stray.refresh_from_db()
    assert stray.is_active is False
    assert ("5", "旧代码") not in code_choices(CodeTable.GENDER)
    assert code_entry(CodeTable.GENDER, "5") == stray


@pytest.mark.django_db
def test_sync_restores_edited_and_deactivated_entries(synced):
    # given an entry renamed and deactivated by hand, and a region renamed
    CodeEntry.objects.filter(table=CodeTable.ETHNICITY, code="17").update(
        name="改过的", is_active=False
    )
    Region.objects.filter(code="654201").update(name="改过的", latitude=None)

    # when the tables are synchronised
    code_tables_sync()

    # then the files win again
    entry = code_entry(CodeTable.ETHNICITY, "17")
    assert (entry.name, entry.is_active) == ("哈萨克族", True)
    region = region_by_code("654201")
    assert (region.name, region.latitude) == ("塔城市", Decimal("46.751"))


@pytest.mark.django_db
def test_code_table_versions_carry_source_and_date(synced):
    # given the synchronised database
    versions = {version.table: version for version in CodeTableVersion.objects.all()}
    sources = read_sources()

    # when the version rows are compared with sources.json
    # then each table has its source, edition, date and row count
    assert set(versions) == set(EXPECTED_COUNTS)
    for table, version in versions.items():
        assert version.source == sources[table]["source"]
        assert version.edition == sources[table]["edition"]
        assert version.source_date == dt.date.fromisoformat(sources[table]["source_date"])
        assert version.row_count == EXPECTED_COUNTS[table]
    assert versions["ethnicity"].source.startswith("GB/T 3304-1991")
    assert versions["discipline"].source_date == dt.date(2009, 5, 6)


# --- Table contents -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_title_entry_has_an_explicit_level(synced):
    # given the title table
    titles = CodeEntry.objects.filter(table=CodeTable.TITLE)

    # when the levels are read
    # then none is blank, series rows are "none", and the grade digit is not trusted
    assert all(title.level in TitleLevel.values for title in titles)
    assert {t.code for t in titles if t.code.endswith("0") and t.level == TitleLevel.NONE} >= {
        "010", "050", "080", "090", "100", "110", "230", "240", "250", "260", "610",
    }  # fmt: skip
    assert code_entry(CodeTable.TITLE, "613").level == TitleLevel.INTERMEDIATE  # 助理研究员
    assert code_entry(CodeTable.TITLE, "231").level == TitleLevel.SENIOR  # 主任医师
    assert code_entry(CodeTable.TITLE, "082").level == TitleLevel.ASSOCIATE_SENIOR
    assert code_entry(CodeTable.TITLE, "999").level == TitleLevel.NONE


@pytest.mark.django_db
def test_post_2016_senior_titles_are_local_extensions(synced):
    # given the title table
    # when the local extension codes are read
    extensions = CodeEntry.objects.filter(table=CodeTable.TITLE, is_local_extension=True)

    # then they are the three 正高级 titles, all senior
    assert {(e.code, e.name, e.level) for e in extensions} == {
        ("L01", "正高级工程师", TitleLevel.SENIOR),
        ("L02", "正高级会计师", TitleLevel.SENIOR),
        ("L03", "中小学正高级教师", TitleLevel.SENIOR),
    }


@pytest.mark.django_db
def test_small_tables_hold_the_standard_codes(synced):
    # given the synchronised tables
    # when the pickers are built
    # then they hold the standard codes in the standard order
    assert code_choices(CodeTable.GENDER) == [
        ("0", "未知的性别"),
        ("1", "男"),
        ("2", "女"),
        ("9", "未说明的性别"),
    ]
    ethnicity = code_choices(CodeTable.ETHNICITY)
    assert ethnicity[0] == ("01", "汉族")
    assert ethnicity[-2:] == [("97", "其他未识别民族"), ("98", "外国血统中国籍人士")]
    assert len(ethnicity) == 58
    political = code_choices(CodeTable.POLITICAL_STATUS)
    assert (political[0], political[-1]) == (("01", "中国共产党党员"), ("13", "群众"))
    assert [code for code, _ in code_choices(CodeTable.WORKER_TYPE)] == [
        "01", "02", "03", "04", "05", "06",
    ]  # fmt: skip


@pytest.mark.django_db
def test_education_and_discipline_categories(synced):
    # given the education and discipline tables
    education = CodeEntry.objects.filter(table=CodeTable.EDUCATION)
    disciplines = CodeEntry.objects.filter(table=CodeTable.DISCIPLINE)

    # when categories are inspected
    # then education rows point at their x0 level (levels included) and disciplines at A-E
    assert all(entry.category == entry.code[0] + "0" for entry in education)
    assert {"10", "20", "30", "40", "60", "70", "80", "90"} <= {e.code for e in education}
    assert disciplines.count() == 62
    assert {entry.category for entry in disciplines} == {"A", "B", "C", "D", "E"}
    assert code_entry(CodeTable.DISCIPLINE, "520").name == "计算机科学技术"


@pytest.mark.django_db
def test_degree_table_has_levels_and_a_local_none_entry(synced):
    # given the degree table
    # when its level rows and the "none" row are read
    # then 博士/硕士/学士 are category rows and 0 无 is marked as local
    assert code_entry(CodeTable.DEGREE, "2").name == "博士"
    assert code_entry(CodeTable.DEGREE, "3").name == "硕士"
    assert code_entry(CodeTable.DEGREE, "4").name == "学士"
    assert code_entry(CodeTable.DEGREE, "308").category == "3"
    none = code_entry(CodeTable.DEGREE, "0")
    assert (none.name, none.is_local_extension) == ("无", True)


# --- Look-ups ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lookups_return_none_for_unknown_codes(synced):
    # given the synchronised database
    # when unknown codes are looked up
    # then None comes back rather than an exception
    assert region_by_code("110101") is None
    assert code_entry(CodeTable.GENDER, "7") is None
    assert code_choices("no_such_table") == []


@pytest.mark.django_db
def test_id_numbers_checked_against_the_region_table(synced):
    # given the region table as look-up, both per query and preloaded
    for lookup in (region_by_code, preloaded_region_lookup()):
        # when numbers from 沙湾 are validated
        before_2021_old_code = validate_id_number(
            id_number("654223", dt.date(1990, 1, 1)), region_lookup=lookup
        )
        before_2021_new_code = validate_id_number(
            id_number("654203", dt.date(1990, 1, 1)), region_lookup=lookup
        )
        after_2021_new_code = validate_id_number(
            id_number("654203", dt.date(2022, 1, 1)), region_lookup=lookup
        )

        # then 654223 is silent for 1990, 654203 warns for 1990 but not for 2022
        assert before_2021_old_code.warnings == []
        assert len(before_2021_new_code.warnings) == 1
        assert after_2021_new_code.warnings == []


@pytest.mark.django_db
def test_management_command_prints_counts_per_table():
    # given an empty database
    out = io.StringIO()

    # when the command runs
    call_command("sync_code_tables", stdout=out)

    # then it names every table with its count
    output = out.getvalue()
    for table, count in EXPECTED_COUNTS.items():
        assert any(line.split() == [table, str(count)] for line in output.splitlines()), table
    assert Region.objects.count() == EXPECTED_COUNTS["regions"]
