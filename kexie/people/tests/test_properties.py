"""Property tests (hypothesis) for the registry's normalisation, masking and search routing."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kexie.core.masking import mask_id_number, mask_phone
from kexie.core.text import MIDDLE_DOT, normalise_name, search_key
from kexie.people.identity import canonical_id_number
from kexie.people.search import route_query
from kexie.people.synthetic import make_id_number

COUNTIES = ["654201", "654202", "654203", "654221", "654223", "654224", "654225", "654226"]
HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
DOTS = st.sampled_from(["·", "•", "・", "･", "‧", ".", "-", " · "])

ids = st.builds(
    make_id_number,
    st.sampled_from(COUNTIES),
    st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.integers(min_value=0, max_value=10_000),
    male=st.booleans(),
)
mobiles = st.builds(
    lambda head, rest: f"1{head}{rest:09d}",
    st.integers(min_value=3, max_value=9),
    st.integers(min_value=0, max_value=999_999_999),
)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@given(ids, st.booleans(), st.booleans())
def test_any_id_number_routes_to_the_exact_blind_index(id_number, wide, spaced):
    typed = _full_width(id_number) if wide else id_number
    if spaced:
        typed = f" {typed[:6]} {typed[6:14]} {typed[14:]} "
    routed = route_query(typed)
    assert routed.kind == "id" and routed.is_sensitive
    assert canonical_id_number(routed.value) == id_number


@given(mobiles, st.sampled_from(["", "+86 ", "0086"]))
def test_any_mobile_routes_to_the_phone_blind_index(mobile, prefix):
    routed = route_query(prefix + mobile)
    assert routed.kind == "phone" and routed.value == mobile and routed.is_sensitive


@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=30
    )
)
def test_latin_letters_route_to_pinyin_and_never_to_a_sensitive_lookup(letters):
    routed = route_query(letters)
    assert routed.kind == "pinyin" and not routed.is_sensitive
    assert routed.tokens == ("py" + letters.lower(),)


@given(st.text(HAN, min_size=1, max_size=8))
def test_chinese_text_routes_to_tokens_that_a_stored_name_contains(name):
    routed = route_query(name)
    assert routed.kind == "text"
    key = search_key(name)
    stored_tokens = set(key) | {key[i : i + 2] for i in range(len(key) - 1)}
    assert set(routed.tokens) <= stored_tokens


@given(st.text(HAN, min_size=1, max_size=6), DOTS, st.text(HAN, min_size=1, max_size=6))
def test_dot_look_alikes_become_one_middle_dot_and_search_keys_drop_it(first, dot, second):
    name = normalise_name(first + dot + second)
    assert name == f"{first}{MIDDLE_DOT}{second}"
    assert normalise_name(name) == name
    assert search_key(name) == search_key(first + second)


@given(ids)
def test_masked_id_numbers_hide_the_birth_date_and_sequence(id_number):
    masked = mask_id_number(id_number)
    assert masked == id_number[:4] + "*" * 10 + id_number[-4:]
    assert id_number[6:14] not in masked


@given(mobiles)
def test_masked_mobiles_hide_the_middle_four_digits(mobile):
    assert mask_phone(mobile) == f"{mobile[:3]}****{mobile[7:]}"
