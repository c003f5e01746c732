"""The Ninja root at /api/v1: every app adds its router here (see kehu.core.http)."""

from kehu.activities.api import calendar as activities_calendar_api
from kehu.activities.api import followups as activities_followups_api
from kehu.activities.api import interactions as activities_interactions_api
from kehu.activities.api import tasks as activities_tasks_api
from kehu.activities.api import workplans as activities_workplans_api
from kehu.core.api import router as core_router
from kehu.core.http import DEFAULT_AUTH, KehuAPI
from kehu.customers.api.contacts import contacts_router
from kehu.customers.api.customers import customers_router
from kehu.customers.api.duplicates import duplicates_router
from kehu.customers.api.exports import exports_router
from kehu.customers.api.imports import imports_router
from kehu.customers.api.privacy import privacy_router
from kehu.customers.api.quality import quality_router
from kehu.customers.api.relationships import relationships_router
from kehu.customers.api.search import search_router
from kehu.documents import api as documents_api
from kehu.notifications.api import router as notifications_router

api = KehuAPI(
    title="Kehu API",
    version="1",
    description=(
        "Kehu CRM REST API. Authenticate with `Authorization: Bearer <token>` (from "
        "`POST /api/v1/auth/token`) or a signed-in session (CSRF token required for writes). "
        "Errors: `{\"error\": {\"code\", \"message\", \"fields\"}}`. Lists take `limit` and "
        "`offset`. Updates need `If-Match` with the record's ETag; creates accept "
        "`Idempotency-Key`."
    ),
    urls_namespace="api",
    auth=DEFAULT_AUTH,
)

api.add_router("", core_router)
# Fixed paths (/customers/merge, /duplicates, /quality) before /customers/{id}.
api.add_router("/customers", duplicates_router)
api.add_router("/customers", quality_router)
api.add_router("/customers", customers_router)
api.add_router("/customers", relationships_router)
api.add_router("/contacts", contacts_router)
api.add_router("", privacy_router)
api.add_router("/search", search_router)
api.add_router("/imports", imports_router)
api.add_router("/exports", exports_router)
# Engagement (kehu.activities): each module's router declares its own paths
# (/interactions, /followups, /tasks, /workplans, /calendar).
api.add_router("", activities_interactions_api.router)
api.add_router("", activities_followups_api.router)
api.add_router("", activities_tasks_api.router)
api.add_router("", activities_workplans_api.router)
api.add_router("", activities_calendar_api.router)
# Platform apps: /notifications, /documents.
api.add_router("", notifications_router)
api.add_router("", documents_api.router)
