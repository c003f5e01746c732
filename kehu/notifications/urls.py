"""Pages of the notification centre and the reminder settings."""

from django.urls import URLPattern, path

from kehu.notifications import views

urlpatterns: list[URLPattern] = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read-all/", views.notification_read_all,
         name="notification_read_all"),
    path("notifications/settings/", views.notification_settings,
         name="notification_settings"),
    path("notifications/<int:notification_id>/read/", views.notification_read,
         name="notification_read"),
    path("notifications/<int:notification_id>/open/", views.notification_open,
         name="notification_open"),
]
