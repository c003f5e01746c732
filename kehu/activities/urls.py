"""Pages of the engagement app: each views module declares its own patterns."""

from kehu.activities import (
    views_interactions,
    views_notifications,
    views_reports,
    views_tasks,
)

urlpatterns = [*views_interactions.urlpatterns, *views_tasks.urlpatterns,
               *views_notifications.urlpatterns,
               *views_reports.urlpatterns]
