from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark suite (``kehu bench``): data generator and workloads."""

    name = "kehu.bench"
    label = "bench"
    verbose_name = "Benchmarks"
