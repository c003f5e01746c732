"""REST endpoints of exports, duplicate detection and merge, and data quality."""

from __future__ import annotations

from ninja import Router

exports_router = Router(tags=["exports"])
# Merge and duplicates live under /customers (see kehu.api): POST /customers/merge …
data_router = Router(tags=["customers"])
