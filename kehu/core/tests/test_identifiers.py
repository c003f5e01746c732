from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kehu.core.identifiers import (
    USCC_ALPHABET,
    id_check_char,
    normalize_id_number,
    normalize_uscc,
    uscc_check_char,
)

# Published examples: a credit code (check character computed by GB 32100's rule) and the
# sample ID number of GB 11643's annex.
VALID_USCC = "91350100M000100Y43"
VALID_ID = "11010519491231002X"


def test_valid_uscc_normalised() -> None:
    assert normalize_uscc(VALID_USCC) == VALID_USCC
    assert normalize_uscc(" 9135 0100-m000 100y43 ") == VALID_USCC
    assert normalize_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == VALID_USCC  # full-width


@pytest.mark.parametrize("bad", [
    "91350100M000100Y44",  # wrong check character
    "91350100M000100Y4",  # too short
    "91350100M00010OY43",  # O is not in the alphabet
    "",
])
def test_invalid_uscc(bad: str) -> None:
    assert normalize_uscc(bad) is None


def test_valid_id_number() -> None:
    assert normalize_id_number(VALID_ID) == VALID_ID
    assert normalize_id_number("11010519491231002x") == VALID_ID


def test_fifteen_digit_id_converted() -> None:
    # 110105 491231 002 → 110105 19491231 002 + check character
    assert normalize_id_number("110105491231002") == VALID_ID


@pytest.mark.parametrize("bad", [
    "110105194912310021",  # wrong check digit
    "110105194913310028",  # month 13
    "110105290012310021",  # born in the future
    "11010519491231002",  # 17 digits
    "abcdefghijklmnopqr",
])
def test_invalid_id_number(bad: str) -> None:
    assert normalize_id_number(bad) is None


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17).filter(
    lambda s: s[2:8].isdigit()))
def test_uscc_with_its_check_char_is_valid_and_any_other_is_not(first17: str) -> None:
    check = uscc_check_char(first17)
    assert normalize_uscc(first17 + check) == first17 + check
    for other in USCC_ALPHABET.replace(check, "")[:3]:
        assert normalize_uscc(first17 + other) is None


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
       st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_id_with_its_check_char_is_valid(born: dt.date, digits: str) -> None:
    first17 = digits[:6] + born.strftime("%Y%m%d") + digits[6:]
    number = first17 + id_check_char(first17)
    assert normalize_id_number(number) == number
