"""Tests of ``core.validators``: ID numbers, mobile numbers, unified social credit codes.

The property tests compare the validators with reference implementations written here
differently on purpose (powers of two for the ID weights, the "sum including the check is
1 mod 11" rule, ``int(char, 36)`` for organisation-code values), so a shared mistake is
unlikely to hide in both.
"""

from __future__ import annotations

import datetime as dt
import string

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from kexie.core.models import Region
from kexie.core.validators import (
    convert_15_to_18,
    id_check_char,
    id_number_validator,
    mobile_validator,
    normalise_id_number,
    normalise_mobile,
    uscc_check_char,
    uscc_validator,
    validate_id_number,
    validate_mobile,
    validate_uscc,
)

# --- Independent reference implementations ---------------------------------------------------


def reference_id_check(first17: str) -> str:
    """ISO 7064 MOD 11-2: weights are 2^(17-i) mod 11, and the check c makes Σ + c ≡ 1."""
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


REF_USCC_ALPHABET = "".join(
    char for char in string.digits + string.ascii_uppercase if char not in "IOSVZ"
)


def reference_uscc_check(first17: str) -> str:
    """The check c makes Σ vᵢ·3^(i-1) + c ≡ 0 (mod 31), accumulated step by step."""
    accumulator = 0
    for index, char in enumerate(first17):
        accumulator = (accumulator + REF_USCC_ALPHABET.index(char) * pow(3, index, 31)) % 31
    return REF_USCC_ALPHABET[-accumulator % 31]


def reference_org_check(body8: str) -> str:
    """GB 11714 as a congruence: Σ vᵢ·wᵢ + c ≡ 0 (mod 11), with 10 written X."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(char, 36) * weight for char, weight in zip(body8, weights, strict=True))
    check = -total % 11
    return "X" if check == 10 else str(check)


def make_uscc(prefix2: str, region6: str, body8: str) -> str:
    first16 = prefix2 + region6 + body8
    first17 = first16 + reference_org_check(body8)
    return first17 + reference_uscc_check(first17)


def make_id(address: str, birth: dt.date, sequence: int) -> str:
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + reference_id_check(first17)


TODAY = timezone.localdate()
digits = st.text(alphabet=string.digits, min_size=1, max_size=1)
uscc_chars = st.sampled_from(REF_USCC_ALPHABET)


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> str:
    address = draw(st.text(alphabet=string.digits, min_size=6, max_size=6))
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return make_id(address, birth, sequence)


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    prefix2 = draw(uscc_chars) + draw(uscc_chars)
    region6 = draw(st.text(alphabet=string.digits, min_size=6, max_size=6))
    body8 = "".join(draw(st.lists(uscc_chars, min_size=8, max_size=8)))
    return make_uscc(prefix2, region6, body8)


def tacheng_region(code: str, valid_from: int | None = None, valid_to: int | None = None):
    """An unsaved Region: its ``is_valid_in`` is the real rule, no database needed."""
    return Region(code=code, name=code, level="county", valid_from=valid_from, valid_to=valid_to)


TACHENG = {
    "654201": tacheng_region("654201"),
    "654203": tacheng_region("654203", valid_from=2021),
    "654223": tacheng_region("654223", valid_to=2021),
}


# --- ID numbers: normalisation and conversion -----------------------------------------------


def test_full_width_digits_and_spaces_are_normalised():
    # given a number typed with a Chinese input method: full-width digits, ideographic spaces
    raw = "１１０１０５\u3000１９４９１２３１ ００２ｘ"

    # when it is normalised and validated
    normalised = normalise_id_number(raw)
    result = validate_id_number(raw)

    # then it is the plain ASCII number with an upper-case X
    assert normalised == "11010519491231002X"
    assert result.value == "11010519491231002X"


def test_lowercase_x_check_character_is_accepted_and_upper_cased():
    # given the GB 11643 example number written with a lowercase x
    raw = "11010519491231002x"

    # when it is validated
    result = validate_id_number(raw)

    # then it is valid and stored with X
    assert result.value == "11010519491231002X"
    assert result.birth_date == dt.date(1949, 12, 31)
    assert result.gender_code == "2"


def test_fifteen_digit_number_is_converted_to_eighteen():
    # given a first-generation 15-digit number
    raw = "130503670401001"

    # when it is validated
    result = validate_id_number(raw)

    # then it comes back as 18 characters with 19 inserted and a computed check
    assert result.value == "130503196704010016"
    assert result.birth_date == dt.date(1967, 4, 1)
    assert result.gender_code == "1"


def test_convert_15_to_18_inserts_century_and_check_character():
    # given a 15-digit number
    id15 = "654223850615123"

    # when it is converted
    id18 = convert_15_to_18(id15)

    # then the century 19 is inserted and the check character appended
    assert id18[:17] == "65422319850615123"
    assert id18[17] == reference_id_check(id18[:17])


def test_convert_15_to_18_refuses_other_lengths():
    # given a string that is not a 15-digit number
    # when it is converted
    # then a ValueError is raised (a programming error, not a user error)
    with pytest.raises(ValueError):
        convert_15_to_18("12345")


# --- ID numbers: dates --------------------------------------------------------------------


def test_february_29_is_accepted_in_a_leap_year():
    # given a birth on 29 February 2000 (a leap year)
    number = make_id("654201", dt.date(2000, 2, 29), 12)

    # when it is validated
    result = validate_id_number(number)

    # then the birth date is that day
    assert result.birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize("year", ["2023", "1900", "2100"])
def test_february_29_is_rejected_in_a_non_leap_year(year):
    # given a number claiming 29 February of a non-leap year (1900 is not a leap year)
    first17 = f"654201{year}0229012"
    number = first17 + reference_id_check(first17)

    # when it is validated
    # then it is rejected as an impossible date
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(number)
    assert excinfo.value.code == "id_bad_date"


def test_february_29_1900_from_a_fifteen_digit_number_is_rejected():
    # given a 15-digit number whose date becomes 1900-02-29 after conversion
    # when it is validated
    # then the impossible date is reported
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number("654201000229012")
    assert excinfo.value.code == "id_bad_date"


def test_birth_date_in_the_future_is_rejected():
    # given a number born two days from now
    number = make_id("654201", TODAY + dt.timedelta(days=2), 12)

    # when it is validated
    # then it is rejected
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(number)
    assert excinfo.value.code == "id_date_in_future"


def test_birth_date_before_1900_is_rejected():
    # given the GB 11643 example of a person born in 1880
    # when it is validated
    # then it is rejected
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number("440524188001010014")
    assert excinfo.value.code == "id_date_too_early"


# --- ID numbers: shape and checksum ---------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "1101051949123100", "1101051949123100211", "12345"])
def test_wrong_length_is_rejected(raw):
    # given numbers of neither 15 nor 18 characters
    # when they are validated
    # then the length is reported
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(raw)
    assert excinfo.value.code == "id_length"


@pytest.mark.parametrize("raw", ["11010519491231X02X", "1101051949123100A1", "13050367040100X"])
def test_letters_inside_the_number_are_rejected(raw):
    # given numbers with a letter where only digits may stand
    # when they are validated
    # then the characters are reported
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(raw)
    assert excinfo.value.code == "id_characters"


def test_non_ascii_digits_are_rejected():
    # given Arabic-Indic digits, which NFKC leaves alone and Python's \d would accept
    raw = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"

    # when it is validated
    # then it is rejected
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(raw)
    assert excinfo.value.code == "id_characters"


def test_wrong_check_character_is_rejected_with_the_expected_one():
    # given the example number with a wrong final character
    # when it is validated
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number("110105194912310021")

    # then the error names the right check character
    assert excinfo.value.code == "id_checksum"
    assert excinfo.value.params == {"expected": "X"}
    assert "X" in excinfo.value.messages[0]


def test_gender_code_follows_the_parity_of_the_sequence():
    # given two numbers that differ only in the sequence number
    odd = make_id("654202", dt.date(1980, 5, 17), 123)
    even = make_id("654202", dt.date(1980, 5, 17), 124)

    # when they are validated
    # then odd is male (1) and even is female (2)
    assert validate_id_number(odd).gender_code == "1"
    assert validate_id_number(even).gender_code == "2"


# --- ID numbers: address code warnings -------------------------------------------------------


def test_shawan_county_code_is_accepted_without_warning_for_a_birth_before_2021():
    # given a person born in 沙湾县 in 1990, whose number keeps 654223 for life
    number = make_id("654223", dt.date(1990, 3, 8), 35)

    # when it is validated with the region look-up
    result = validate_id_number(number, region_lookup=TACHENG.get)

    # then it is valid and carries no warning
    assert result.value == number
    assert result.warnings == []


def test_shawan_city_code_warns_for_a_birth_before_2021_but_validates():
    # given 沙湾市 654203, which did not exist in 1990
    number = make_id("654203", dt.date(1990, 3, 8), 35)

    # when it is validated with the region look-up
    result = validate_id_number(number, region_lookup=TACHENG.get)

    # then it is still valid, with one warning naming the code
    assert result.value == number
    assert len(result.warnings) == 1
    assert "654203" in result.warnings[0]


def test_shawan_city_code_does_not_warn_for_a_birth_after_2021():
    # given a child born in 沙湾市 in 2022
    number = make_id("654203", dt.date(2022, 7, 1), 2)

    # when it is validated with the region look-up
    result = validate_id_number(number, region_lookup=TACHENG.get)

    # then there is no warning
    assert result.warnings == []


def test_unknown_address_code_warns():
    # given an address code the region table does not hold
    number = make_id("999999", dt.date(1990, 3, 8), 35)

    # when it is validated with the region look-up
    result = validate_id_number(number, region_lookup=TACHENG.get)

    # then it validates with a warning
    assert len(result.warnings) == 1
    assert "999999" in result.warnings[0]


def test_without_region_lookup_there_are_no_warnings():
    # given a number with an unknown address code
    number = make_id("999999", dt.date(1990, 3, 8), 35)

    # when it is validated without a look-up
    result = validate_id_number(number)

    # then the region is not checked at all
    assert result.warnings == []


def test_result_is_frozen():
    # given a validation result
    result = validate_id_number("11010519491231002X")

    # when someone tries to change it
    # then the dataclass refuses
    with pytest.raises(AttributeError):
        result.value = "x"  # type: ignore[misc]


# --- ID numbers: properties -------------------------------------------------------------------


@given(st.text(alphabet=string.digits, min_size=17, max_size=17))
def test_id_check_char_matches_the_reference(first17):
    # given any 17 digits
    # when the check character is computed
    # then it agrees with the independent implementation
    assert id_check_char(first17) == reference_id_check(first17)


@given(valid_id_numbers())
def test_valid_id_numbers_are_accepted(number):
    # given a number built with the reference check and a real date
    # when it is validated
    result = validate_id_number(number)

    # then it comes back unchanged with its birth date
    assert result.value == number
    assert result.birth_date == dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


@given(valid_id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_a_single_character_change_in_an_id_number_is_rejected(number, position, replacement):
    # given a valid number and a different character at one position
    if number[position] == replacement:
        replacement = "X" if replacement != "X" else "0"
    corrupted = number[:position] + replacement + number[position + 1 :]

    # when the corrupted number is validated
    # then it is rejected
    with pytest.raises(ValidationError):
        validate_id_number(corrupted)


@given(
    st.text(alphabet=string.digits, min_size=6, max_size=6),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_fifteen_digit_conversion_matches_the_reference(address, birth, sequence):
    # given a first-generation number
    id15 = f"{address}{birth:%y%m%d}{sequence:03d}"

    # when it is converted
    id18 = convert_15_to_18(id15)

    # then it equals the reference construction and validates
    assert id18 == make_id(address, birth, sequence)
    assert validate_id_number(id15).value == id18


# --- Mobile numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086 13812345678",
        "１３８１２３４５６７８",
        "＋８６　１３８－１２３４－５６７８",
    ],
)
def test_mobile_numbers_in_common_spellings_are_normalised(raw):
    # given a mobile number as people write it
    # when it is validated
    # then the 11 digits come back
    assert validate_mobile(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw", ["", "1381234567", "138123456789", "12812345678", "23812345678", "1381234567a"]
)
def test_invalid_mobile_numbers_are_rejected(raw):
    # given strings that are not mainland mobile numbers
    # when they are validated
    # then they are rejected
    with pytest.raises(ValidationError) as excinfo:
        validate_mobile(raw)
    assert excinfo.value.code == "invalid_mobile"


def test_normalise_mobile_does_not_validate():
    # given a landline with an area code
    # when it is normalised
    # then separators go but nothing is judged
    assert normalise_mobile("0901-622 1234") == "09016221234"


# --- Unified social credit codes ------------------------------------------------------------


def test_uscc_test_vector_passes():
    # given the published test vector
    # when it is validated
    # then it is accepted unchanged
    assert validate_uscc("91110000600037341L") == "91110000600037341L"


def test_uscc_is_normalised_to_upper_case_without_spaces():
    # given the vector in lower case with spaces and a full-width letter
    # when it is validated
    # then the canonical form comes back
    assert validate_uscc(" 9111 0000 6000 3734 1ｌ ") == "91110000600037341L"


@pytest.mark.parametrize("prefix", ["N1", "N2", "Y1", "51", "52", "93"])
def test_uscc_with_any_registration_authority_is_accepted_when_checksums_are_right(prefix):
    # given codes of 农业 (N), 其他 (Y), 民政 (5) and other authorities with correct checksums
    code = make_uscc(prefix, "654200", "MA7B2C3D")

    # when they are validated
    # then they are accepted: the authority list is not hard-coded
    assert validate_uscc(code) == code


def test_uscc_with_letters_in_the_organisation_code_body_is_accepted():
    # given a code whose organisation code body is mostly letters
    code = make_uscc("92", "654201", "L8XK3H4A")

    # when it is validated
    # then the letters are valued as in GB 11714 and the code is accepted
    assert validate_uscc(code) == code


@pytest.mark.parametrize("raw", ["", "9111000060003734", "91110000600037341LL"])
def test_uscc_of_wrong_length_is_rejected(raw):
    # given codes that are not 18 characters long
    # when they are validated
    # then the length is reported
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(raw)
    assert excinfo.value.code == "uscc_length"


@pytest.mark.parametrize("char", ["I", "O", "S", "V", "Z", "-"])
def test_uscc_with_a_character_outside_the_alphabet_is_rejected(char):
    # given the vector with a forbidden character in the organisation code
    raw = "91110000" + char + "00037341L"

    # when it is validated
    # then the character is named
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(raw)
    assert excinfo.value.code == "uscc_characters"
    assert excinfo.value.params == {"char": char}


def test_uscc_with_letters_in_the_region_code_is_rejected():
    # given a code with a letter among characters 3 to 8, checksums otherwise right
    code = make_uscc("91", "6542A0", "60003734")

    # when it is validated
    # then the region part is reported
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(code)
    assert excinfo.value.code == "uscc_region"


def test_uscc_with_a_wrong_check_character_is_rejected_with_the_expected_one():
    # given the vector with a wrong last character
    # when it is validated
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc("91110000600037341M")

    # then the expected check character is named
    assert excinfo.value.code == "uscc_checksum"
    assert excinfo.value.params == {"expected": "L"}


def test_uscc_whose_organisation_code_check_fails_is_rejected():
    # given a code whose character 17 is wrong for GB 11714 but whose mod-31 check is right
    first17 = "91110000" + "60003734" + "2"
    code = first17 + reference_uscc_check(first17)

    # when it is validated
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(code)

    # then the organisation code check is reported
    assert excinfo.value.code == "uscc_org_checksum"
    assert excinfo.value.params == {"expected": "1"}


@given(st.lists(uscc_chars, min_size=17, max_size=17).map("".join))
def test_uscc_check_char_matches_the_reference(first17):
    # given any 17 characters of the alphabet
    # when the check character is computed
    # then it agrees with the independent implementation
    assert uscc_check_char(first17) == reference_uscc_check(first17)


@given(valid_usccs())
def test_valid_usccs_are_accepted(code):
    # given a code built with the reference checks
    # when it is validated
    # then it is accepted unchanged
    assert validate_uscc(code) == code


@given(valid_usccs(), st.integers(min_value=0, max_value=17), uscc_chars)
def test_a_single_character_change_in_a_uscc_is_rejected(code, position, replacement):
    # given a valid code and a different character of the alphabet at one position
    if code[position] == replacement:
        replacement = REF_USCC_ALPHABET[(REF_USCC_ALPHABET.index(replacement) + 1) % 31]
    corrupted = code[:position] + replacement + code[position + 1 :]

    # when the corrupted code is validated
    # then it is rejected
    with pytest.raises(ValidationError):
        validate_uscc(corrupted)


# --- Field validators in a form ----------------------------------------------------------------


class PersonForm(forms.Form):
    id_number = forms.CharField(validators=[id_number_validator])
    mobile = forms.CharField(validators=[mobile_validator])
    uscc = forms.CharField(validators=[uscc_validator])


def test_field_validators_accept_valid_values_in_a_form():
    # given a form with valid values
    form = PersonForm(
        data={
            "id_number": "11010519491231002X",
            "mobile": "138 1234 5678",
            "uscc": "91110000600037341L",
        }
    )

    # when it is validated
    # then there are no errors
    assert form.is_valid(), form.errors


def test_field_validators_report_errors_per_field_in_a_form():
    # given a form with three invalid values
    form = PersonForm(
        data={
            "id_number": "110105194912310021",
            "mobile": "12812345678",
            "uscc": "91110000600037341M",
        }
    )

    # when it is validated
    # then each field carries its own error code
    assert not form.is_valid()
    assert form.has_error("id_number", "id_checksum")
    assert form.has_error("mobile", "invalid_mobile")
    assert form.has_error("uscc", "uscc_checksum")
