"""`kehu worker` killed with SIGKILL in the middle of an import: after a restart the
import is marked failed with nothing written, can be started again, and then every row
is there exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.conftest import ADMIN_EMAIL, Site, kill, wait_until

ROWS = 3_000  # 3 batches of 1000: the kill lands after the first one, before the end

QUEUE = f"""
from pathlib import Path
from kehu.core.models import User
from kehu.customers import tasks
from kehu.customers.importing.files import progress_path
from kehu.customers.services import imports
admin = User.objects.get(email="{ADMIN_EMAIL}")
job = imports.import_create_from_path(actor=admin, entity="customers", path=Path(PATH))
job = imports.import_check(actor=admin, job_id=job.pk)
assert job.counts["accepted"] == {ROWS}, job.counts
job = imports.import_queue(actor=admin, job_id=job.pk)
tasks.enqueue_import(job.pk)
print(job.pk, progress_path(job))
"""

STATE = """
import json
from kehu.customers.models import Customer, ImportJob
job = ImportJob.objects.get(pk=JOB)
names = list(Customer.objects.values_list("name", flat=True))
print(json.dumps({"state": job.state, "error": job.error, "customers": len(names),
                  "distinct": len(set(names))}))
"""

REQUEUE = f"""
from kehu.core.models import User
from kehu.customers import tasks
from kehu.customers.services import imports
admin = User.objects.get(email="{ADMIN_EMAIL}")
job = imports.import_queue(actor=admin, job_id=JOB)
tasks.enqueue_import(job.pk)
"""


def state(site: Site, job: int) -> dict:
    return json.loads(site.python(STATE.replace("JOB", str(job))).strip().splitlines()[-1])


def progress(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def test_worker_killed_mid_import_writes_nothing_and_runs_again(site: Site) -> None:
    csv_path = site.data_dir / "big.csv"
    csv_path.write_text("客户名称,联系电话\n" + "".join(
        f"断电演练客户{i:05d}有限公司,0757-8{i:07d}\n" for i in range(ROWS)), encoding="utf-8")
    out = site.python(QUEUE.replace("PATH", repr(str(csv_path)))).strip().splitlines()[-1]
    job_text, progress_text = out.split(" ", 1)
    job, progress_file = int(job_text), Path(progress_text)

    worker = site.worker()
    # Mid-way: a batch written inside the run's open transaction.
    wait_until(lambda: progress(progress_file) >= 1000, 120, "import progress", worker)
    assert progress(progress_file) < ROWS
    kill(worker)

    left = state(site, job)
    assert left["state"] == "running" and left["customers"] == 0, left

    site.worker()  # the restarted worker finds the job orphaned
    wait_until(lambda: state(site, job)["state"] == "failed", 60, "orphaned import failed")
    failed = state(site, job)
    assert failed["customers"] == 0, failed
    assert "nothing was written" in failed["error"] or "没有写入" in failed["error"]

    site.python(REQUEUE.replace("JOB", str(job)))
    wait_until(lambda: state(site, job)["state"] == "done", 150, "import run again")
    done = state(site, job)
    assert done["customers"] == ROWS and done["distinct"] == ROWS, done
