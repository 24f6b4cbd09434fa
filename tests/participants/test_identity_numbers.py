"""HB-01 context: Taiwan national IDs and resident certificate numbers are well-formed.

Pure tests: no database. The valid samples are public examples (A123456789; A800000014, the
immigration agency's new-format example; AC01234567) and numbers that independent open-source
validators list as valid; the hypothesis strategy below computes check digits with its own
copy of the letter table, not the module's.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from biobank.participants.identity_numbers import (
    LETTER_CODES,
    WEIGHTS,
    IdNumber,
    InvalidIdNumber,
    is_valid_national_id,
    validate_national_id,
)

# The letter table exactly as the specification writes it.
SPEC_LETTER_TABLE = (
    "A10 B11 C12 D13 E14 F15 G16 H17 I34 J18 K19 L20 M21 N22 O35 P23 Q24 R25 S26 T27"
    " U28 V29 W32 X30 Y31 Z33"
)
SPEC_LETTER_CODES = {
    letter: int(code) for letter, code in re.findall(r"([A-Z])(\d\d)", SPEC_LETTER_TABLE)
}

SECOND_CHARACTERS = {
    "national_id": {"1": "M", "2": "F"},
    "resident_new": {"8": "M", "9": "F"},
    "resident_old": {"A": "M", "B": "F", "C": "M", "D": "F"},
}


# --- known numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "kind", "sex"),
    [
        ("A123456789", "national_id", "M"),
        ("F131104093", "national_id", "M"),
        ("S152892614", "national_id", "M"),
        ("A223456781", "national_id", "F"),
        ("A800000014", "resident_new", "M"),
        ("A900000016", "resident_new", "F"),
        ("P908661184", "resident_new", "F"),
        ("A823456783", "resident_new", "M"),
        ("AC01234567", "resident_old", "M"),
        ("AA00000009", "resident_old", "M"),
        ("AB12345677", "resident_old", "F"),
        ("SB40558330", "resident_old", "F"),
        ("AC94737017", "resident_old", "M"),
        ("FA12345689", "resident_old", "M"),
    ],
)
def test_hb01_known_valid_numbers(number, kind, sex):
    result = validate_national_id(number)
    assert result == IdNumber(value=number, kind=kind, sex=sex)
    assert is_valid_national_id(number)


@pytest.mark.parametrize(
    "number",
    [
        "A123456788",  # national ID, last digit off by one
        "A234567890",  # national ID, checksum
        "A223456789",  # national ID, sex digit changed
        "A800000015",  # new resident format
        "A900000014",  # new resident format, sex digit changed
        "AC01234568",  # old resident format
        "AD01234567",  # old resident format, second letter changed
        "B123456789",  # first letter changed
    ],
)
def test_hb01_known_numbers_with_a_wrong_check_digit_are_refused(number):
    with pytest.raises(ValueError, match="check digit does not match") as caught:
        validate_national_id(number)
    assert isinstance(caught.value, InvalidIdNumber)
    assert caught.value.reason == "checksum"
    assert not is_valid_national_id(number)


def test_hb01_surrounding_spaces_and_lower_case_are_normalised():
    assert validate_national_id("  a123456789\t").value == "A123456789"
    assert validate_national_id(" ac01234567 ").value == "AC01234567"
    assert validate_national_id("\u3000a800000014\n").value == "A800000014"  # ideographic space


def test_hb01_the_repr_does_not_show_the_number():
    result = validate_national_id("A123456789")
    assert "A123456789" not in repr(result)
    assert "national_id" in repr(result)


def test_id_number_is_frozen():
    result = validate_national_id("A123456789")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = "A800000014"  # type: ignore[misc]


def test_hb01_invalid_id_number_is_a_value_error():
    assert issubclass(InvalidIdNumber, ValueError)


def test_letter_table_matches_the_specification():
    assert len(SPEC_LETTER_CODES) == 26
    assert dict(LETTER_CODES) == SPEC_LETTER_CODES
    assert WEIGHTS == (8, 7, 6, 5, 4, 3, 2, 1, 1)


# --- one error message per reason ----------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "length"),
    [("", 0), ("   ", 0), ("A12345678", 9), ("A1234567890", 11), ("A 123456789", 11)],
)
def test_hb01_wrong_length_is_refused_with_the_length(number, length):
    with pytest.raises(
        InvalidIdNumber, match=f"has 10 characters; this one has {length}"
    ) as caught:
        validate_national_id(number)
    assert caught.value.reason == "length"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1123456789", "starts with a letter A-Z"),
        ("-123456789", "starts with a letter A-Z"),
        ("A323456789", "second character must be 1 or 2"),
        ("A023456789", "second character must be 1 or 2"),
        ("AE12345678", "second character must be 1 or 2"),
        ("AZ12345678", "second character must be 1 or 2"),
        ("A12345678X", "last eight characters must be digits"),
        ("AC0123456D", "last eight characters must be digits"),
        ("A1234 6789", "last eight characters must be digits"),
        ("Ａ123456789", "only the letters A-Z and the digits 0-9"),  # full-width A
        ("A12345678９", "only the letters A-Z and the digits 0-9"),  # full-width 9
        ("A12345678٩", "only the letters A-Z and the digits 0-9"),  # Arabic-Indic 9
    ],
)
def test_hb01_wrong_pattern_is_refused_with_the_reason(number, message):
    with pytest.raises(InvalidIdNumber, match=message) as caught:
        validate_national_id(number)
    assert caught.value.reason == "pattern"


def test_hb01_error_messages_do_not_repeat_the_number():
    for number in ("A123456788", "A323456789", "A12345678X"):
        with pytest.raises(ValueError) as caught:
            validate_national_id(number)
        assert number not in str(caught.value)
        assert number[1:] not in str(caught.value)


def test_hb01_checksum_misses_some_single_digit_typos():
    # Weight 5 times a difference of 2 is 10: the checksum cannot see this typo of A123456789.
    assert validate_national_id("A123656789").value == "A123656789"


def test_hb01_any_change_of_the_last_digit_is_caught():
    for number in ("A123456789", "A800000014", "AC01234567"):
        for digit in "0123456789":
            changed = number[:-1] + digit
            assert is_valid_national_id(changed) is (changed == number), changed


def test_hb01_any_change_of_the_old_format_second_letter_is_caught():
    for letter in "ABD":
        assert not is_valid_national_id("A" + letter + "01234567")


# --- properties ----------------------------------------------------------------------------


def _checksum(number: str) -> int:
    """Independent of the module: the specification's weighted sum."""
    tens, ones = divmod(SPEC_LETTER_CODES[number[0]], 10)
    second = number[1]
    first_digit = SPEC_LETTER_CODES[second] % 10 if second.isalpha() else int(second)
    rest = [int(c) for c in number[2:]]
    return (
        tens * 1
        + ones * 9
        + sum(weight * digit for weight, digit in zip(WEIGHTS, [first_digit, *rest], strict=True))
    )


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(number, kind, sex): a letter, a second character of the kind, 7 digits, a check digit."""
    kind = draw(st.sampled_from(sorted(SECOND_CHARACTERS)))
    second = draw(st.sampled_from(sorted(SECOND_CHARACTERS[kind])))
    letter = draw(st.sampled_from(sorted(SPEC_LETTER_CODES)))
    body = draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    partial = letter + second + body + "0"
    check = (10 - _checksum(partial) % 10) % 10
    return partial[:-1] + str(check), kind, SECOND_CHARACTERS[kind][second]


@given(valid_numbers(), st.sampled_from(["", " ", "  ", "\t"]), st.booleans())
def test_hb01_generated_valid_numbers_validate_and_round_trip(generated, padding, lower):
    number, kind, sex = generated
    typed = padding + (number.lower() if lower else number) + padding
    result = validate_national_id(typed)
    assert result == IdNumber(value=number, kind=kind, sex=sex)
    assert validate_national_id(result.value) == result
    assert is_valid_national_id(typed)


@given(valid_numbers(), st.integers(min_value=1, max_value=9), st.sampled_from("0123456789"))
def test_hb01_a_single_digit_change_is_caught_unless_its_weight_hides_it(generated, index, digit):
    # The stronger claim "every single-digit change is caught" is false for this checksum:
    # a change of d at a position of weight w goes unseen when w * d is a multiple of 10.
    number, _, _ = generated
    assume(number[index].isdigit() and number[index] != digit)
    changed = number[:index] + digit + number[index + 1 :]
    weight = WEIGHTS[index - 1]
    difference = int(digit) - int(number[index])
    still_a_pattern = index != 1 or digit in "1289"
    assert is_valid_national_id(changed) is (still_a_pattern and weight * difference % 10 == 0)


@given(valid_numbers(), st.sampled_from([2, 6, 8, 9]), st.sampled_from("0123456789"))
def test_hb01_a_change_at_a_weight_coprime_to_ten_is_always_caught(generated, index, digit):
    # d2, d6, d8 and d9 weigh 7, 3, 1 and 1: every change there is caught.
    number, _, _ = generated
    assume(number[index] != digit)
    assert not is_valid_national_id(number[:index] + digit + number[index + 1 :])


@given(valid_numbers(), st.sampled_from("0123456789"))
def test_hb01_a_change_of_the_sex_or_kind_digit_is_caught(generated, digit):
    number, kind, _ = generated
    assume(kind != "resident_old" and number[1] != digit)
    assert not is_valid_national_id(number[0] + digit + number[2:])


near_misses = st.from_regex(r"\s*[A-Za-z0-9][0-9A-Za-z][0-9]{7,9}\s*", fullmatch=True)


@given(st.one_of(st.text(), near_misses))
def test_hb01_arbitrary_text_raises_only_value_error(text):
    try:
        result = validate_national_id(text)
    except ValueError as error:
        assert isinstance(error, InvalidIdNumber)
        assert str(error)
        assert not is_valid_national_id(text)
    else:
        assert isinstance(result, IdNumber)
        assert is_valid_national_id(text)
        assert result.value == text.strip().upper()
