"""Import rows and rows per second reach /metrics when the worker finishes an import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kehu.core import metrics
from kehu.core.testing import World
from kehu.customers.models import Customer
from kehu.customers.services import imports as import_services
from kehu.customers.tasks import run_import


def sample(name: str, **labels: str) -> float:
    text = metrics.exposition()[0].decode()
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples if s.name == name and s.labels == labels)


@pytest.mark.django_db
def test_a_finished_import_counts_its_rows_and_rate(world: World, settings: Any,
                                                    tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    rows_before = sample("kehu_import_rows_total", entity="customers")
    rates_before = sample("kehu_import_rows_per_second_count", entity="customers")
    text = "客户名称,电话\n" + "".join(f"指标公司{i},1380000{i:04d}\n" for i in range(25))
    job = import_services.import_create(actor=world.hq_admin, entity="customers",
                                        file_name="客户.csv", chunks=[text.encode()])
    import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    run_import.call_local(job.pk)  # the worker's part, in this process
    assert Customer.objects.filter(name__startswith="指标公司").count() == 25
    assert sample("kehu_import_rows_total", entity="customers") - rows_before == 25
    assert sample("kehu_import_rows_per_second_count", entity="customers") - rates_before == 1
    assert sample("kehu_import_rows_per_second_sum", entity="customers") > 0
