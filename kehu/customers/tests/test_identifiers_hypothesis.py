"""Property tests of the identifier validators (kehu.core.identifiers): every valid
unified social credit code and resident ID number is accepted, and any single-character
change of one is rejected.

Why a single substitution is always caught: the check character makes the weighted sum
of all positions ≡ 0 modulo 31 (USCC, GB 32100-2015) or 11 (ID number, GB 11643-1999,
where the check stands for its own value). Replacing the character at a position of
weight w by another changes the sum by w·d with d ≢ 0 (two different characters have
different values below the modulus). Both moduli are prime and no weight is a multiple of
them, so w·d ≢ 0 and the check fails — for every position. A replacement outside the
alphabet (I, O, S, V, Z; a letter among the ID number's digits) fails the format check
instead. ``test_every_weight_is_coprime_to_its_modulus`` verifies the premise.
"""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.core import identifiers

USCC_ALPHABET = identifiers.USCC_ALPHABET
DIGITS = "0123456789"
# Characters that are no character of either code, or a different one after
# normalisation (upper-casing, full-width folding).
FOREIGN = "IOSVZ*-中ａ"


def _squeeze(ch: str) -> str:
    return identifiers._squeeze(ch)


@st.composite
def valid_uscc(draw: st.DrawFn) -> str:
    # Registration authority and kind, 6-digit region, 9-character organisation code.
    head = draw(st.text(USCC_ALPHABET, min_size=2, max_size=2))
    region = draw(st.text(DIGITS, min_size=6, max_size=6))
    body = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    first17 = head + region + body
    return first17 + identifiers.uscc_check_char(first17)


@st.composite
def valid_id_number(draw: st.DrawFn) -> str:
    region = draw(st.text(DIGITS, min_size=6, max_size=6))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)))
    sequence = draw(st.text(DIGITS, min_size=3, max_size=3))
    first17 = region + born.strftime("%Y%m%d") + sequence
    return first17 + identifiers.id_check_char(first17)


def _substitute(code: str, position: int, replacement: str) -> str:
    return code[:position] + replacement + code[position + 1:]


@settings(max_examples=300)
@given(valid_uscc())
def test_valid_uscc_is_accepted(code: str) -> None:
    assert identifiers.normalize_uscc(code) == code
    assert identifiers.normalize_uscc(code.lower()) == code  # normalised to upper case


@settings(max_examples=300)
@given(valid_uscc(), st.integers(0, 17), st.sampled_from(USCC_ALPHABET + FOREIGN))
def test_any_single_change_of_a_uscc_is_rejected(code: str, position: int,
                                                 replacement: str) -> None:
    if _squeeze(replacement) == code[position]:
        replacement = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + 1) % 31]
    changed = _substitute(code, position, replacement)
    assert identifiers.normalize_uscc(changed) is None, (code, changed)


def test_every_uscc_position_and_replacement_is_rejected() -> None:
    # Exhaustive over positions and the whole alphabet, for a known valid code.
    code = "91350100M000100Y43"
    assert identifiers.normalize_uscc(code) == code
    for position in range(18):
        for replacement in USCC_ALPHABET:
            if replacement != code[position]:
                assert identifiers.normalize_uscc(_substitute(code, position, replacement)) \
                    is None, (position, replacement)


@settings(max_examples=300)
@given(valid_id_number())
def test_valid_id_number_is_accepted(number: str) -> None:
    assert identifiers.normalize_id_number(number) == number
    assert identifiers.normalize_id_number(number.lower()) == number


@settings(max_examples=300)
@given(valid_id_number(), st.integers(0, 17), st.sampled_from(DIGITS + "X" + FOREIGN))
def test_any_single_change_of_an_id_number_is_rejected(number: str, position: int,
                                                       replacement: str) -> None:
    if _squeeze(replacement) == number[position]:
        replacement = DIGITS[(DIGITS.index(number[position]) + 1) % 10] \
            if number[position] in DIGITS else "0"
    changed = _substitute(number, position, replacement)
    assert identifiers.normalize_id_number(changed) is None, (number, changed)


def test_every_id_number_position_and_replacement_is_rejected() -> None:
    number = "11010519491231002X"
    assert identifiers.normalize_id_number(number) == number
    for position in range(18):
        for replacement in DIGITS + "X":
            if replacement != number[position]:
                assert identifiers.normalize_id_number(
                    _substitute(number, position, replacement)) is None, (position, replacement)


def test_every_weight_is_coprime_to_its_modulus() -> None:
    # The premise of the module docstring, for each of the 17 positions; the check
    # position itself has weight 1 in both schemes.
    assert all(math.gcd(w, 31) == 1 for w in identifiers._USCC_WEIGHTS)
    assert all(math.gcd(w, 11) == 1 for w in identifiers._ID_WEIGHTS)
    assert len(identifiers._USCC_WEIGHTS) == len(identifiers._ID_WEIGHTS) == 17
