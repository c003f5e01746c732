"""Pages of the engagement app: each views module declares its own patterns."""

from kehu.activities import views_documents, views_notifications
from kehu.activities.views import followups, interactions, reports, tasks, workplans

urlpatterns = [*interactions.urlpatterns, *followups.urlpatterns, *tasks.urlpatterns,
               *workplans.urlpatterns, *views_notifications.urlpatterns,
               *views_documents.urlpatterns, *reports.urlpatterns]
