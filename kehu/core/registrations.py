"""What core contributes to the permission registry and the built-in roles."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action
from kehu.core.context_processors import register_nav
from kehu.core.permissions import (
    Scope,
    grant_to_builtin_role,
    register_builtin_role,
    register_module,
)


def register() -> None:
    from kehu.core.models import User, register_shareable

    register_shareable(User)
    register_nav("home", _("Home"), None, order=0)
    register_nav("org_tree", _("Organisation"), "org.view", order=10)
    register_nav("user_list", _("Users"), "users.view", order=20)
    register_nav("role_list", _("Roles"), "roles.view", order=30)
    register_nav("audit_list", _("Audit log"), "audit.view", order=900)

    register_module("org", _("Organisation"), ("view", "create", "change", "delete"))
    register_module(
        "users", _("Users"), ("view", "create", "change", "delete", "export", "reveal_pii", "admin")
    )
    register_module("roles", _("Roles"), ("view", "create", "change", "delete"))
    register_module("audit", _("Audit log"), ("view", "export"))

    for key, label in (
        ("tenant.signup", _("Company signed up")),
        ("auth.login", _("Signed in")),
        ("auth.logout", _("Signed out")),
        ("auth.login_failed", _("Sign-in failed")),
        ("auth.locked", _("Account locked")),
        ("permission_denied", _("Permission denied")),
        ("org_unit.create", _("Unit created")),
        ("org_unit.update", _("Unit changed")),
        ("org_unit.move", _("Unit moved")),
        ("user.create", _("User created")),
        ("user.update", _("User changed")),
        ("user.unlock", _("User unlocked")),
        ("user.reset_password", _("Password reset")),
        ("user.profile_update", _("Profile changed")),
        ("user.totp_setup", _("Two-factor enrolment started")),
        ("user.totp_enable", _("Two-factor turned on")),
        ("user.totp_disable", _("Two-factor turned off")),
        ("user.totp_recovery_codes", _("Recovery codes replaced")),
        ("user.totp_reset", _("Two-factor reset by an administrator")),
        ("auth.recovery_code_used", _("Signed in with a recovery code")),
        ("role.create", _("Role created")),
        ("role.update", _("Role changed")),
        ("role.delete", _("Role deleted")),
        ("api_token.create", _("API token created")),
        ("api_token.revoke", _("API token revoked")),
        ("audit.export", _("Audit log exported")),
        ("share.grant", _("Record shared")),
        ("share.revoke", _("Record unshared")),
    ):
        register_action(key, label)

    register_builtin_role("tenant_admin", _("Tenant administrator"), Scope.TENANT,
                          _("Everything in the company, including users, roles and audit."))
    register_builtin_role("hq_manager", _("HQ manager"), Scope.TENANT,
                          _("Sees and manages the whole company's business data."))
    register_builtin_role("province_manager", _("Province manager"), Scope.SUBTREE,
                          _("Sees and manages the province and everything below it."))
    register_builtin_role("city_manager", _("City manager"), Scope.SUBTREE,
                          _("Sees and manages the city and its teams."))
    register_builtin_role("account_manager", _("Account manager"), Scope.OWN,
                          _("Works on the customers they own."))
    register_builtin_role("callcenter_agent", _("Call-center agent"), Scope.TENANT,
                          _("Answers customers from every branch; reads, records contacts."))
    register_builtin_role("service_agent", _("Service agent"), Scope.SUBTREE,
                          _("Handles service requests in their branch."))
    register_builtin_role("marketing_specialist", _("Marketing specialist"), Scope.SUBTREE,
                          _("Plans campaigns for their branch."))
    register_builtin_role("analyst", _("Analyst (read-only)"), Scope.TENANT,
                          _("Reads and exports everything, changes nothing."))

    grant_to_builtin_role("tenant_admin", "*")
    grant_to_builtin_role("hq_manager", "org.*", "users.*", "roles.view", "audit.*")
    for manager in ("province_manager", "city_manager"):
        grant_to_builtin_role(manager, "org.view", "org.create", "org.change", "users.view",
                              "users.create", "users.change", "roles.view", "audit.view")
    for worker in ("account_manager", "callcenter_agent", "service_agent",
                   "marketing_specialist"):
        grant_to_builtin_role(worker, "org.view", "users.view")
    grant_to_builtin_role("analyst", "*.view", "*.export")
