"""REST endpoints of spreadsheet imports (upload, dry run, run, status, report)."""

from __future__ import annotations

from ninja import Router

imports_router = Router(tags=["imports"])
