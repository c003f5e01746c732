"""Writes, one module per feature: tenants, org, users, profile, roles, audit, shares.

Each service is atomic, checks access through kehu.core.access, records its audit event
in the same transaction and re-checks that the result stays visible to its writer.
Import services from their feature module (``kehu.core.services.users``…).
"""
