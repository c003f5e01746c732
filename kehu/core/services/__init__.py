"""Writes, one module per feature: tenants, org, users, profile, roles, audit, shares.

Each service is atomic, checks access through kehu.core.access, records its audit event
in the same transaction and re-checks that the result stays visible to its writer.
Import services from their feature module; the names below stay importable from
``kehu.core.services`` only for callers outside core (kehu.bench, tests/e2e).
"""

from kehu.core.services.org import org_unit_create
from kehu.core.services.profile import api_token_create
from kehu.core.services.tenants import tenant_signup

__all__ = ["api_token_create", "org_unit_create", "tenant_signup"]
