"""Core pages: sign-in, home, org tree, users, roles, audit log, profile; probes, metrics
and the operator's status page."""

from django.urls import path
from django.views.i18n import set_language

from kehu.core.views import audit, auth, health, home, org, profile, roles, status, users

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("status/", status.installation_status, name="installation_status"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("signup/", auth.signup_view, name="signup"),
    path("language/", set_language, name="set_language"),
    path("org/", org.org_tree, name="org_tree"),
    path("org/create/", org.org_unit_create, name="org_unit_create"),
    path("org/<int:pk>/edit/", org.org_unit_edit, name="org_unit_edit"),
    path("org/<int:pk>/move/", org.org_unit_move, name="org_unit_move"),
    path("org/<int:pk>/deactivate/", org.org_unit_status, {"active": False},
         name="org_unit_deactivate"),
    path("org/<int:pk>/reactivate/", org.org_unit_status, {"active": True},
         name="org_unit_reactivate"),
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
    path("users/<int:pk>/deactivate/", users.user_status, {"active": False},
         name="user_deactivate"),
    path("users/<int:pk>/reactivate/", users.user_status, {"active": True},
         name="user_reactivate"),
    path("users/<int:pk>/unlock/", users.user_unlock, name="user_unlock"),
    path("users/<int:pk>/reset-password/", users.user_reset_password,
         name="user_reset_password"),
    path("roles/", roles.role_list, name="role_list"),
    path("roles/new/", roles.role_create, name="role_create"),
    path("roles/<int:pk>/", roles.role_detail, name="role_detail"),
    path("roles/<int:pk>/delete/", roles.role_delete, name="role_delete"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("profile/", profile.profile, name="profile"),
    path("profile/password/", profile.profile_password, name="profile_password"),
    path("profile/two-factor/setup/", profile.totp_setup, name="totp_setup"),
    path("profile/two-factor/enable/", profile.totp_enable, name="totp_enable"),
    path("profile/two-factor/disable/", profile.totp_disable, name="totp_disable"),
    path("profile/tokens/", profile.api_token_create, name="api_token_create"),
    path("profile/tokens/<int:pk>/revoke/", profile.api_token_revoke, name="api_token_revoke"),
]
