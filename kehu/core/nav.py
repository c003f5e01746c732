"""Core's entries in the main navigation (see kehu.core.context_processors)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.context_processors import register_nav

register_nav("home", _("Home"), None, order=0)
register_nav("org_tree", _("Organisation"), "org.view", order=10)
register_nav("user_list", _("Users"), "users.view", order=20)
register_nav("role_list", _("Roles"), "roles.view", order=30)
register_nav("audit_list", _("Audit log"), "audit.view", order=900)
