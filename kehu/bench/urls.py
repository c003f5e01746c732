"""Kehu's URLs plus the bare view the list API is measured against (bench server only)."""

from django.urls import path

from kehu.bench import views
from kehu.urls import urlpatterns as kehu_urlpatterns

urlpatterns = [
    path("bench/bare/customers", views.bare_customers, name="bench_bare_customers"),
    *kehu_urlpatterns,
]
