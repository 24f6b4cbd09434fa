"""The Traditional Chinese catalogue (zh-hant, the default UI language) is complete and compiled."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "zh_Hant" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# %(name)s, %(count)d, %s, %d ... but not the literal "%%"
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGco]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def label(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt else self.msgid


def _unquote(text: str) -> str:
    value = ast.literal_eval(text.strip())
    assert isinstance(value, str), text
    return value


def parse_po(path: Path) -> list[Entry]:
    """A minimal PO parser: enough for what makemessages writes (obsolete #~ entries skipped)."""
    entries: list[Entry] = []
    entry = Entry()
    started = False  # the current entry has a msgid
    in_msgstr = False  # the last keyword was msgstr / msgstr[n]
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, started, in_msgstr, target
        if started:
            entries.append(entry)
        entry, started, in_msgstr, target = Entry(), False, False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if in_msgstr:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            if in_msgstr:
                finish()
        elif line.startswith('"'):
            assert target is not None, f"continuation line without a keyword: {raw!r}"
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, kind, getattr(entry, kind) + _unquote(line))
        else:
            keyword, _, rest = line.partition(" ")
            if in_msgstr and not keyword.startswith("msgstr"):
                finish()  # next entry begins without a blank line in between
            if keyword in ("msgctxt", "msgid", "msgid_plural"):
                setattr(entry, keyword, _unquote(rest))
                target = (keyword, 0)
                started = started or keyword == "msgid"
            elif keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.msgstr[index] = _unquote(rest)
                target = ("msgstr", index)
                in_msgstr = True
            else:
                raise AssertionError(f"unexpected line in {path.name}: {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    return parse_po(PO_PATH)


@pytest.fixture(scope="module")
def messages(catalogue: list[Entry]) -> list[Entry]:
    return [entry for entry in catalogue if not entry.is_header]


def test_catalogue_holds_messages(messages: list[Entry]):
    assert len(messages) > 100


def test_header_declares_traditional_chinese_with_a_single_plural_form(catalogue: list[Entry]):
    header = next(entry for entry in catalogue if entry.is_header)
    assert "Language: zh_Hant\n" in header.msgstr[0]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]


def test_every_message_has_a_non_empty_translation(messages: list[Entry]):
    untranslated = [
        entry.label
        for entry in messages
        if not entry.msgstr or any(not text.strip() for text in entry.msgstr.values())
    ]
    assert untranslated == []


def test_plural_messages_fill_exactly_the_one_chinese_form(messages: list[Entry]):
    wrong = [
        entry.label
        for entry in messages
        if entry.msgid_plural is not None and sorted(entry.msgstr) != [0]
    ]
    assert wrong == []


def test_no_entry_is_fuzzy(catalogue: list[Entry]):
    assert [entry.label or "(header)" for entry in catalogue if "fuzzy" in entry.flags] == []


def _placeholders(text: str) -> list[str]:
    # a literal "%%" first, so that "30 %% of" is not read as the conversion "% o"
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def test_translations_keep_the_placeholders_of_the_english(messages: list[Entry]):
    mismatched = []
    for entry in messages:
        if "python-format" not in entry.flags:
            continue
        expected = _placeholders(entry.msgid)
        for text in entry.msgstr.values():
            if _placeholders(text) != expected:
                mismatched.append((entry.msgid, text))
    assert mismatched == []


def test_compiled_mo_matches_the_current_po(messages: list[Entry]):
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in messages:
        if entry.msgid_plural is not None:
            # Chinese has one form, so msgstr[0] answers every count
            for count in (1, 2):
                if entry.msgctxt is not None:
                    got = compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, count)
                else:
                    got = compiled.ngettext(entry.msgid, entry.msgid_plural, count)
                if got != entry.msgstr[0]:
                    stale.append((entry.label, count, got))
        else:
            if entry.msgctxt is not None:
                got = compiled.pgettext(entry.msgctxt, entry.msgid)
            else:
                got = compiled.gettext(entry.msgid)
            if got != entry.msgstr[0]:
                stale.append((entry.label, got))
    assert stale == [], "django.mo is stale: run `biobank compilemessages`"


def test_dashboard_is_translated_in_traditional_chinese_and_kept_in_english():
    with translation.override("zh-hant"):
        assert translation.gettext("Dashboard") == "儀表板"
    with translation.override("en"):
        assert translation.gettext("Dashboard") == "Dashboard"
