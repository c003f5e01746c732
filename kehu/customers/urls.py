"""Pages of the customers app, one views module per feature.

Fixed paths under customers/ (duplicates, merge, quality, export, new, bulk…) come
before customers/<id>/.
"""

from django.urls import path

from kehu.customers.views import (
    contacts,
    customers,
    duplicates,
    exports,
    imports,
    quality,
    relationships,
    saved_views,
    search,
)

urlpatterns = [
    path("customers/duplicates/", duplicates.duplicate_list, name="duplicate_list"),
    path("customers/merge/", duplicates.customer_merge, name="customer_merge"),
    path("customers/quality/", quality.quality_report, name="quality_report"),
    path("customers/export/", exports.customer_export, name="customer_export"),
    path("contacts/export/", exports.contact_export, name="contact_export"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", imports.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/duplicates/", imports.import_duplicates, name="import_duplicates"),
    path("imports/<int:pk>/run/", imports.import_run, name="import_run"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("imports/<int:pk>/report/", imports.import_report, name="import_report"),
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/new/", customers.customer_create, name="customer_create"),
    path("customers/bulk/", customers.customer_bulk, name="customer_bulk"),
    path("customers/regions/", customers.region_options, name="customer_region_options"),
    path("customers/views/save/", saved_views.saved_view_save, name="saved_view_save"),
    path("customers/views/<int:pk>/delete/", saved_views.saved_view_delete,
         name="saved_view_delete"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/status/", customers.customer_status, name="customer_status"),
    path("customers/<int:pk>/transfer/", customers.customer_transfer, name="customer_transfer"),
    path("customers/<int:pk>/reveal/", customers.customer_reveal, name="customer_reveal"),
    path("customers/<int:pk>/relationships/", relationships.relationship_add,
         name="relationship_add"),
    path("customers/<int:pk>/relationships/<int:rel_pk>/delete/",
         relationships.relationship_remove, name="relationship_remove"),
    path("customers/<int:pk>/external-ids/", relationships.external_id_add,
         name="external_id_add"),
    path("customers/<int:pk>/external-ids/<int:ext_pk>/delete/",
         relationships.external_id_remove, name="external_id_remove"),
    path("customers/<int:pk>/contacts/", customers.customer_contact_add,
         name="customer_contact_add"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/unlink/",
         customers.customer_contact_unlink, name="customer_contact_unlink"),
    path("contacts/", contacts.contact_list, name="contact_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/link/", contacts.contact_link, name="contact_link"),
    path("contacts/<int:pk>/reveal/", contacts.contact_reveal, name="contact_reveal"),
    path("search/", search.search_page, name="search"),
    path("search/live/", search.search_live, name="search_live"),
]
