"""Pages of the engagement app: each views module declares its own patterns; the calendar's
are listed here."""

from django.urls import path

from kehu.activities.views import calendar, followups, interactions, reports, tasks, workplans

urlpatterns = [*interactions.urlpatterns, *followups.urlpatterns, *tasks.urlpatterns,
               *workplans.urlpatterns,
               path("calendar/", calendar.calendar, name="calendar"),
               path("calendar/feed/", calendar.calendar_feed_create,
                    name="calendar_feed_create"),
               path("calendar/feed/revoke/", calendar.calendar_feed_revoke,
                    name="calendar_feed_revoke"),
               path("calendar/feed/<slug:token>.ics", calendar.calendar_feed_ics,
                    name="calendar_feed_ics"),
               *reports.urlpatterns]
