"""Pages of the engagement app: each views module declares its own patterns; the calendar's
are listed here."""

from django.urls import path

from kehu.activities import (
    views_interactions,
    views_reports,
    views_tasks,
)
from kehu.activities.views import calendar

urlpatterns = [*views_interactions.urlpatterns, *views_tasks.urlpatterns,
               path("calendar/", calendar.calendar, name="calendar"),
               path("calendar/feed/", calendar.calendar_feed_create,
                    name="calendar_feed_create"),
               path("calendar/feed/revoke/", calendar.calendar_feed_revoke,
                    name="calendar_feed_revoke"),
               path("calendar/feed/<slug:token>.ics", calendar.calendar_feed_ics,
                    name="calendar_feed_ics"),
               *views_reports.urlpatterns]
