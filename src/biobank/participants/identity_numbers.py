"""Taiwan personal ID numbers: 身分證字號 and 居留證統一證號 (context: rule HB-01).

HB-01 (人體生物資料庫管理條例 §3, §18) keeps a participant's name, national ID and birth date
encrypted and apart from everything else. Before a number is encrypted it must at least be a
well-formed number, so a typo is caught at the desk rather than found years later when a
record has to be re-linked. This module only checks the format; it is pure (no Django, no
database) and never puts the number itself in an error message or a ``repr``.

Three kinds of number share one layout, a letter then nine characters, and one checksum:

* national ID (身分證字號): letter, ``1`` (male) or ``2`` (female), eight digits;
* resident certificate number, new format (居留證統一證號, issued since 2021): letter,
  ``8`` (male) or ``9`` (female), eight digits;
* resident certificate number, old format: two letters, the second ``A``-``D``
  (``A``/``C`` male, ``B``/``D`` female), eight digits.

The checksum: the first letter has a two-digit code (``A`` 10 ... ``Z`` 33, see
``LETTER_CODES``) with tens digit t and ones digit u; the nine characters after it are digits
d1..d9, except that an old-format second letter counts as the ones digit of its own code
(A→0, B→1, C→2, D→3). ``t + 9u + 8d1 + 7d2 + 6d3 + 5d4 + 4d5 + 3d6 + 2d7 + d8 + d9`` must be
a multiple of 10. The weights 8, 6, 5, 4 and 2 share a factor with 10, so some single-digit
typos in d1, d3, d4, d5 or d7 still pass (A123456789 → A123656789); a valid number is not
proof that it was typed correctly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

IdKind = Literal["national_id", "resident_new", "resident_old"]
Sex = Literal["M", "F"]
InvalidReason = Literal["length", "pattern", "checksum"]

LENGTH: Final = 10

LETTER_CODES: Final = MappingProxyType(
    {
        "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
        "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
        "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
    }
)  # fmt: skip

# Weights of d1..d9; the letter's tens digit weighs 1 and its ones digit 9.
WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 1, 1)

_DIGITS: Final = frozenset("0123456789")

# The second character decides the kind and, for every kind, the sex.
_SECOND_CHARACTER: Final[MappingProxyType[str, tuple[IdKind, Sex]]] = MappingProxyType(
    {
        "1": ("national_id", "M"),
        "2": ("national_id", "F"),
        "8": ("resident_new", "M"),
        "9": ("resident_new", "F"),
        "A": ("resident_old", "M"),
        "B": ("resident_old", "F"),
        "C": ("resident_old", "M"),
        "D": ("resident_old", "F"),
    }
)


class InvalidIdNumber(ValueError):
    """A ValueError whose ``reason`` lets a form show its own translated message."""

    def __init__(self, message: str, *, reason: InvalidReason) -> None:
        super().__init__(message)
        self.reason: InvalidReason = reason


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A well-formed ID number; ``value`` is normalised (trimmed, upper case)."""

    value: str = field(repr=False)  # personal data (HB-01): kept out of logs and tracebacks
    kind: IdKind
    sex: Sex | None


def _checksum(text: str) -> int:
    """The weighted sum of a ten-character, upper-case, well-patterned number."""
    tens, ones = divmod(LETTER_CODES[text[0]], 10)
    second = text[1]
    digits = [LETTER_CODES[second] % 10 if second in LETTER_CODES else int(second)]
    digits.extend(int(character) for character in text[2:])
    return tens + 9 * ones + sum(w * d for w, d in zip(WEIGHTS, digits, strict=True))


def validate_national_id(value: str) -> IdNumber:
    """The normalised ID number, or ``InvalidIdNumber`` (a ValueError) saying what is wrong.

    Accepts a national ID or a resident certificate number of either format, with
    surrounding spaces and in lower case.
    """
    text = value.strip()
    if len(text) != LENGTH:
        raise InvalidIdNumber(
            f"An ID number has {LENGTH} characters; this one has {len(text)}.", reason="length"
        )
    # Check ASCII before upper-casing: str.upper() can change the length of other text.
    if not text.isascii():
        raise InvalidIdNumber(
            "An ID number has only the letters A-Z and the digits 0-9.", reason="pattern"
        )
    text = text.upper()
    if text[0] not in LETTER_CODES:
        raise InvalidIdNumber("An ID number starts with a letter A-Z.", reason="pattern")
    if text[1] not in _SECOND_CHARACTER:
        raise InvalidIdNumber(
            "The second character must be 1 or 2 (national ID), 8 or 9 (resident certificate)"
            " or a letter A-D (old-format resident certificate).",
            reason="pattern",
        )
    if not _DIGITS.issuperset(text[2:]):
        raise InvalidIdNumber("The last eight characters must be digits.", reason="pattern")
    if _checksum(text) % 10 != 0:
        # Deliberately no hint of the expected check digit: "fixing" the last digit would turn
        # a typo elsewhere into a valid, wrong number.
        raise InvalidIdNumber(
            "The check digit does not match; the number has been mistyped.", reason="checksum"
        )
    kind, sex = _SECOND_CHARACTER[text[1]]
    return IdNumber(value=text, kind=kind, sex=sex)


def is_valid_national_id(value: str) -> bool:
    """Whether ``validate_national_id`` accepts the value."""
    try:
        validate_national_id(value)
    except ValueError:
        return False
    return True
