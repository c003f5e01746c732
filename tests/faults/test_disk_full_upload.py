"""The disk fills during an upload: `kehu serve` stores documents on a 1 MB tmpfs (or,
where tmpfs cannot be mounted, a 1 MB loop-mounted ext4 image) and is sent a 3 MB file.
The answer is a clear 507, no partial file is left, no document row points at a missing
file, and the next small upload works. Needs root (CI runs as root): fails, never skips."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import Site, free_port


def _mount_small(folder: Path, scratch: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                           capture_output=True, text=True, check=False)
    if tmpfs.returncode == 0:
        return
    image = scratch / "small.img"  # no tmpfs (a container without the right): a loop device
    subprocess.run(["truncate", "-s", "1M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    loop = subprocess.run(["mount", "-o", "loop", str(image), str(folder)],
                          capture_output=True, text=True, check=False)
    assert loop.returncode == 0, f"cannot mount a small file system: {tmpfs.stderr} {loop.stderr}"


@pytest.fixture
def small_documents_disk(site: Site, tmp_path: Path) -> Iterator[Path]:
    folder = site.data_dir / "documents"
    _mount_small(folder, tmp_path)
    try:
        yield folder
    finally:
        site.stop_all()
        subprocess.run(["umount", "-l", str(folder)], check=False)


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "lost+found"]


def test_disk_full_during_upload_is_a_clear_error_and_leaves_nothing(
        site: Site, small_documents_disk: Path) -> None:
    port = free_port()
    site.serve(port, KEHU_EMBEDDED_WORKER="0")
    api = f"http://127.0.0.1:{port}/api/v1"
    auth = {"Authorization": f"Bearer {site.token}"}
    made = requests.post(f"{api}/customers", json={"name": "磁盘演练客户有限公司"},
                         headers=auth, timeout=30)
    assert made.status_code == 201, made.text
    customer = made.json()["id"]

    big = ("合同正文 contract text\n" * 120_000).encode()  # about 3 MB, more than the disk
    full = requests.post(f"{api}/documents", headers=auth, data={"customer_id": customer},
                         files={"file": ("合同.txt", big, "text/plain")}, timeout=60)
    assert full.status_code == 507, full.text
    error = full.json()["error"]  # in the user's language (zh-hans)
    assert error["code"] == "storage_full" and "存储空间已满" in error["message"], error

    assert files_under(small_documents_disk) == []  # no partial file
    listed = requests.get(f"{api}/documents", params={"customer_id": customer}, headers=auth,
                          timeout=30)
    assert listed.json()["items"] == []  # no row pointing at a missing file

    small = requests.post(f"{api}/documents", headers=auth, data={"customer_id": customer},
                          files={"file": ("备注.txt", "小文件".encode(), "text/plain")},
                          timeout=30)
    assert small.status_code == 201, small.text
    stored = files_under(small_documents_disk)
    assert len(stored) == 1 and stored[0].read_bytes() == "小文件".encode()
    download = requests.get(f"{api}/documents/{small.json()['id']}/download", headers=auth,
                            timeout=30)
    assert download.status_code == 200 and download.content == "小文件".encode()
