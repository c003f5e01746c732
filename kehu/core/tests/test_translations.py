"""Every user-facing string in the code has a Chinese translation.

The catalogue test in test_views checks the committed .po file; this one extracts the
strings from the code afresh (GNU gettext's xgettext), so a string nobody extracted fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command


def _require_gettext() -> None:
    if shutil.which("xgettext"):
        return
    message = "GNU gettext (xgettext) is not installed; install the gettext package"
    if os.environ.get("CI") or os.environ.get("KEHU_REQUIRE_GETTEXT"):
        pytest.fail(message)
    pytest.skip(message)


def test_every_string_in_the_code_is_translated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_gettext()
    # makemessages writes every catalogue it finds under the working directory: run it
    # on a copy of the code so the real catalogue is never rewritten by the suite.
    source = Path(settings.LOCALE_PATHS[0])
    tree = tmp_path / "kehu"
    shutil.copytree(source.parent, tree, ignore=shutil.ignore_patterns(
        "static", "data", "__pycache__", "*.mo", "tests"))
    copy = tree / "locale"
    monkeypatch.setattr(settings, "LOCALE_PATHS", [copy])
    monkeypatch.chdir(tree)
    call_command("makemessages", locale=["zh_Hans"], ignore_patterns=["static/*"],
                 no_obsolete=True, verbosity=0)
    po = polib.pofile(str(copy / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in po.untranslated_entries()] + [e.msgid for e in po.fuzzy_entries()]
    assert not missing, f"run `make messages` and translate: {missing}"
