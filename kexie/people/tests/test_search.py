"""Search routing and the unigram/bigram/pinyin index (DOMAIN.md §7), on the real database."""

from __future__ import annotations

import pytest

from kexie.people import search
from kexie.people.models import Person
from kexie.people.selectors import person_search
from kexie.people.tests.factories import make_person, synthetic_id

pytestmark = pytest.mark.django_db


def _names(qs) -> set[str]:
    return set(qs.values_list("name", flat=True))


@pytest.fixture
def people(tree):
    make_person(tree.emin_town, name="张伟", employer_text="额敏县人民医院")
    make_person(tree.emin_town, name="曾伟")
    make_person(tree.emin_town, name="张伟强")
    make_person(tree.emin_town, name="李张")
    make_person(tree.emin_town, name="阿依古丽•买买提")
    make_person(tree.toli_town, name="张伟", employer_text="托里县畜牧站")
    return tree


def test_two_characters_find_the_name_inside_scope_only(people, county_admin):
    assert _names(person_search(user=county_admin, query="张伟")) == {"张伟", "张伟强"}
    assert person_search(user=county_admin, query="张伟").count() == 2


def test_one_character_matches_unigrams(people, county_admin):
    assert _names(person_search(user=county_admin, query="张")) == {"张伟", "张伟强", "李张"}


def test_three_characters_need_every_bigram_in_order(people, county_admin):
    assert _names(person_search(user=county_admin, query="张伟强")) == {"张伟强"}
    # "伟张" shares no bigram with 张伟强 in that order
    assert _names(person_search(user=county_admin, query="强伟张")) == set()


def test_traditional_characters_find_simplified_names(people, county_admin):
    assert _names(person_search(user=county_admin, query="張偉")) == {"张伟", "张伟强"}


def test_pinyin_initials_and_full_pinyin_with_surname_readings(people, county_admin):
    assert _names(person_search(user=county_admin, query="zw")) == {"张伟", "曾伟"}
    assert _names(person_search(user=county_admin, query="zhangwei")) == {"张伟"}
    assert _names(person_search(user=county_admin, query="zengwei")) == {"曾伟"}
    assert _names(person_search(user=county_admin, query="ZW")) == {"张伟", "曾伟"}


def test_transliterated_names_with_or_without_the_dot(people, county_admin):
    stored = Person.objects.get(name__startswith="阿依古丽")
    assert stored.name == "阿依古丽·买买提"
    assert _names(person_search(user=county_admin, query="阿依古丽买买提")) == {stored.name}
    assert _names(person_search(user=county_admin, query="阿依古丽·买买提")) == {stored.name}
    assert _names(person_search(user=county_admin, query="古丽.买买")) == {stored.name}


def test_employer_substrings_are_searchable(people, prefecture_admin):
    assert _names(person_search(user=prefecture_admin, query="医院")) == {"张伟"}
    assert _names(person_search(user=prefecture_admin, query="畜牧站")) == {"张伟"}


def test_exact_id_number_finds_through_the_blind_index_never_by_substring(tree, county_admin):
    id_number = synthetic_id()
    person = make_person(tree.emin_town, name="王芳", id_number=id_number)
    assert list(person_search(user=county_admin, query=id_number)) == [person]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in id_number)
    assert list(person_search(user=county_admin, query=full_width)) == [person]
    assert list(person_search(user=county_admin, query=id_number[:10])) == []


def test_phone_finds_through_the_blind_index(tree, county_admin):
    person = make_person(tree.emin_town, name="王芳", phone="139 0991 0001")
    assert list(person_search(user=county_admin, query="13909910001")) == [person]
    assert list(person_search(user=county_admin, query="+86 139-0991-0001")) == [person]
    assert list(person_search(user=county_admin, query="0991")) == []


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("张伟", "text"),
        ("zw", "pinyin"),
        ("Zhang Wei", "pinyin"),
        ("13909910001", "phone"),
        ("65422119850314001X", "id"),
        ("  ", "empty"),
        ("·", "empty"),
    ],
)
def test_route_query(query, kind):
    assert search.route_query(query).kind == kind


def test_rebuild_gives_the_same_answers(people, county_admin):
    before = _names(person_search(user=county_admin, query="张伟"))
    search.clear_index()
    assert _names(person_search(user=county_admin, query="张伟")) == set()
    assert search.rebuild_index() == 6
    assert _names(person_search(user=county_admin, query="张伟")) == before


def test_renaming_updates_the_index(people, county_admin):
    from kexie.people.services import person_update

    person = Person.objects.get(name="曾伟")
    person_update(actor=county_admin, person=person, data={"name": "曾强"})
    assert _names(person_search(user=county_admin, query="曾伟")) == set()
    assert _names(person_search(user=county_admin, query="曾强")) == {"曾强"}
