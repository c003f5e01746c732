from django.urls import include, path

from kehu.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("kehu.customers.urls")),
    path("", include("kehu.notifications.urls")),
    path("", include("kehu.activities.urls")),
    path("", include("kehu.documents.urls")),
    path("", include("kehu.core.urls")),
]

handler500 = "kehu.core.middleware.server_error"
