"""Japanese comes first: every user-facing string has a Japanese translation."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ishibashi"
JA_PO = PACKAGE / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def test_the_japanese_catalogue_is_complete():
    catalogue = polib.pofile(str(JA_PO))

    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]

    assert untranslated == []
    assert fuzzy == []


def test_every_marked_string_is_in_the_japanese_catalogue(tmp_path):
    """Extracts the strings afresh (GNU gettext) and compares with the committed catalogue."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext not found: run 'sudo make system-deps' (installs gettext)")
    copy = tmp_path / "ishibashi"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ja", "--ignore=tests/*",
         "--settings=ishibashi.config.settings"],
        cwd=copy, check=True, capture_output=True,
    )  # fmt: skip
    fresh = {entry.msgid for entry in polib.pofile(str(copy / JA_PO.relative_to(PACKAGE)))}
    committed = {entry.msgid for entry in polib.pofile(str(JA_PO)) if entry.translated()}

    missing = sorted(fresh - committed)
    assert missing == [], "run 'make messages-update' and translate: " + repr(missing[:10])


def test_the_compiled_catalogue_is_what_django_serves():
    with translation.override("ja"):
        assert translation.gettext("Log in") == "ログイン"
