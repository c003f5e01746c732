"""The one upload writer and the one phone normaliser (kehu.core.uploads, kehu.core.phones)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kehu.core import phones
from kehu.core.exceptions import ValidationFailed
from kehu.core.uploads import write_upload
from kehu.core.validators import clean_phone


class TooLarge(Exception):
    pass


class Empty(Exception):
    pass


def test_write_upload_writes_and_hashes(tmp_path: Path) -> None:
    written = write_upload([b"abc", b"def"], folder=tmp_path, name=".x.tmp", max_bytes=6,
                           too_large=TooLarge, empty=Empty)
    assert written.path == tmp_path / ".x.tmp" and written.path.read_bytes() == b"abcdef"
    assert written.size == 6 and written.sha256 == hashlib.sha256(b"abcdef").hexdigest()


def test_write_upload_refuses_as_soon_as_the_limit_is_passed(tmp_path: Path) -> None:
    read: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(100):
            read.append(i)
            yield b"0123456789"

    with pytest.raises(TooLarge):
        write_upload(chunks(), folder=tmp_path, name="big", max_bytes=25, too_large=TooLarge)
    assert len(read) == 3  # stopped at the chunk that passed the limit
    assert list(tmp_path.iterdir()) == []


def test_write_upload_removes_the_partial_file_on_any_error(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"part"
        raise ConnectionError

    with pytest.raises(ConnectionError):
        write_upload(chunks(), folder=tmp_path, name="f", max_bytes=100, too_large=TooLarge)
    with pytest.raises(Empty):
        write_upload([], folder=tmp_path, name="e", max_bytes=100, too_large=TooLarge,
                     empty=Empty)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("raw", "number", "kind", "ext"), [
    ("138 1234 5678", "13812345678", phones.MOBILE, ""),
    ("+86 138-1234-5678", "13812345678", phones.MOBILE, ""),
    ("010-8888 6666 转 123", "01088886666", phones.LANDLINE, "123"),
    ("４００８００１２３４", "4008001234", phones.OTHER, ""),
    ("+44 20 7946 0958", "+442079460958", phones.LANDLINE, ""),
])
def test_parse_phone(raw: str, number: str, kind: str, ext: str) -> None:
    assert phones.parse(raw) == phones.Phone(number, kind, ext)


def test_user_phone_is_a_mobile_or_landline_through_the_same_normaliser() -> None:
    assert clean_phone("") == ""
    assert clean_phone("138-1234-5678") == "13812345678"
    assert clean_phone("+8613812345678") == "13812345678"
    assert clean_phone("010 8888 6666") == "01088886666"
    for bad in ("12345", "4008001234", "13812345678 转 8", "电话"):
        with pytest.raises(ValidationFailed) as exc:
            clean_phone(bad)
        assert list(exc.value.fields) == ["phone"]
