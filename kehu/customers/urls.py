"""Pages of the customers app: each views module declares its own patterns."""

from kehu.customers import views, views_data, views_imports

# views_data first: its fixed paths under customers/ come before customers/<id>/.
urlpatterns = [*views_data.urlpatterns, *views_imports.urlpatterns, *views.urlpatterns]
