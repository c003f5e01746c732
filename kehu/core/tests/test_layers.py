"""The shape rules of docs/architecture.md, enforced: which app may import which, which
templates may load whose tags, one module per feature (no suffixed files), no god modules,
and other apps reading customers through its selectors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kehu.core.tests.test_import_graph import KEHU_DIR, import_graph

# The apps in dependency order: an app may import its own layer's earlier apps (domain) or
# any app of a lower layer. Platform apps may use each other.
CORE, PLATFORM, DOMAIN, TOOLS = 0, 1, 2, 3
APPS: dict[str, tuple[int, int]] = {  # app -> (layer, position within the domain chain)
    "core": (CORE, 0),
    "documents": (PLATFORM, 0),
    "notifications": (PLATFORM, 0),
    "customers": (DOMAIN, 1),
    "activities": (DOMAIN, 2),
    "bench": (TOOLS, 0),
}
# Project modules that tie the apps together (and the env helpers every app may use).
PROJECT = {"kehu", "kehu.api", "kehu.urls", "kehu.settings", "kehu.asgi", "kehu.cli",
           "kehu.env"}
SHARED = {"kehu", "kehu.env"}
# Template tag libraries of Django and the vendored/third-party apps any template may load.
BUILTIN_TAGS = {"i18n", "l10n", "static", "tz", "cache", "partials", "humanize"}
MAX_LINES = 900
SUFFIXED = re.compile(r"^(api|views|forms|schemas|services|selectors)_\w+\.py$")


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in APPS else None


def may_import(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    layer, position = APPS[importer]
    other_layer, other_position = APPS[imported]
    if other_layer < layer:
        return True
    if other_layer == layer == PLATFORM:
        return True
    return other_layer == layer == DOMAIN and other_position < position


def test_every_app_is_known() -> None:
    found = {p.parent.name for p in KEHU_DIR.glob("*/apps.py")}
    assert found == set(APPS), "add the new app to APPS (and docs/architecture.md)"


def test_apps_import_only_earlier_apps() -> None:
    graph = import_graph(KEHU_DIR)
    wrong = []
    for module, targets in graph.items():
        source = app_of(module)
        for target in targets:
            if source is None:
                continue  # project modules may import every app
            target_app = app_of(target)
            if target_app is None:
                if target not in SHARED and APPS[source][0] != TOOLS:
                    wrong.append(f"{module} -> {target} (project module)")
            elif not may_import(source, target_app):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_rules_catch_a_wrong_import() -> None:
    assert not may_import("core", "customers")
    assert not may_import("documents", "customers")
    assert not may_import("customers", "activities")
    assert may_import("activities", "customers")
    assert may_import("customers", "documents")
    assert may_import("notifications", "documents")


def _tag_libraries() -> dict[str, str]:
    return {p.stem: p.parent.parent.name for p in KEHU_DIR.glob("*/templatetags/*.py")
            if p.stem != "__init__"}


LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")
REFERENCE = re.compile(r"{%\s*(?:include|extends)\s+[\"']([\w-]+)/")


def test_templates_use_only_earlier_apps() -> None:
    libraries = _tag_libraries()
    wrong = []
    for app in APPS:
        for template in (KEHU_DIR / app / "templates").rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            where = template.relative_to(KEHU_DIR)
            for match in LOAD.finditer(text):
                names = match.group(1).split()
                if "from" in names:  # {% load tag from library %}
                    names = names[names.index("from") + 1:]
                for name in names:
                    owner = libraries.get(name)
                    if owner is None:
                        if name not in BUILTIN_TAGS:
                            wrong.append(f"{where}: unknown tag library {name}")
                    elif not may_import(app, owner):
                        wrong.append(f"{where}: loads {owner}'s {name}")
            for match in REFERENCE.finditer(text):
                owner = match.group(1)
                if owner in APPS and not may_import(app, owner):
                    wrong.append(f"{where}: uses {owner}'s template {match.group(0)}")
    assert wrong == []


def _source_modules() -> list[Path]:
    return [p for p in KEHU_DIR.rglob("*.py")
            if not {"tests", "migrations"} & set(p.relative_to(KEHU_DIR).parts)]


def test_one_module_per_feature_and_no_god_modules() -> None:
    suffixed = [str(p.relative_to(KEHU_DIR)) for p in _source_modules() if SUFFIXED.match(p.name)]
    assert suffixed == [], "use a package with one module per feature (api/tasks.py, …)"
    large = {str(p.relative_to(KEHU_DIR)): n for p in _source_modules()
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert large == {}, "split these along their seams"


@pytest.mark.parametrize("model", ["Customer", "Contact", "CustomerContact"])
def test_other_apps_read_customers_through_its_selectors(model: str) -> None:
    # models.py may name them for the access policy (scope_q); the benchmark writes rows.
    pattern = re.compile(rf"\b{model}\.objects\b")
    wrong = [str(p.relative_to(KEHU_DIR)) for p in _source_modules()
             if app_of(f"kehu.{p.relative_to(KEHU_DIR).parts[0]}") not in ("customers", "bench")
             and p.name != "models.py"
             and pattern.search(p.read_text(encoding="utf-8"))]
    assert wrong == []


def test_running_the_registrations_again_changes_nothing() -> None:
    # The app registry runs every ready() again when a test changes INSTALLED_APPS; a
    # registry that appends would then show every nav entry twice.
    from django.apps import apps

    from kehu.core import context_processors, demo, permissions
    from kehu.customers import actions, panels

    def state() -> list[int]:
        return [len(context_processors.NAV), len(demo.BUILDERS), len(permissions.MODULES),
                len(panels.PANELS), sum(len(a) for a in actions.ACTIONS.values())]

    before = state()
    for config in apps.get_app_configs():
        if config.name.startswith("kehu."):
            config.ready()
    assert state() == before
