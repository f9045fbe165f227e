"""The message catalogs (web/translations): every string the code marks is in the template,
and the default language (简体中文) translates all of them, with the same placeholders."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGS = WEB / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _marked() -> set[str]:
    """What ``make messages`` would extract now."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB), method_map, keywords={"_": None, "_l": None, "gettext": None,
                                            "lazy_gettext": None}):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(locale: str) -> dict[str, str]:
    data = (CATALOGS / locale / "LC_MESSAGES" / "messages.po").read_bytes()
    return {m.id: m.string for m in read_po(BytesIO(data)) if m.id and isinstance(m.id, str)}


def test_every_marked_string_is_in_every_catalog() -> None:
    marked = _marked()
    assert len(marked) > 100
    for locale in ("zh_Hans_CN", "en"):
        missing = sorted(marked - set(_catalog(locale)))
        assert not missing, f"run `make messages` and translate: {missing}"


def test_chinese_translates_everything_with_the_same_placeholders() -> None:
    for msgid, msgstr in _catalog("zh_Hans_CN").items():
        assert msgstr, f"untranslated: {msgid!r}"
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
        assert re.search(r"[\u4e00-\u9fff]", msgstr), msgid


def test_glossary_terms() -> None:
    zh = _catalog("zh_Hans_CN")
    assert (zh["My tasks"], zh["To claim"], zh["Done"], zh["Involved"]) == (
        "我的待办", "待认领", "已办", "我参与的")
    assert (zh["Yellow card"], zh["Red card"], zh["Unit"], zh["Post"]) == (
        "黄牌", "红牌", "单位", "岗位")
    assert (zh["Principal"], zh["Deputy in charge"], zh["Department head"]) == (
        "单位主要领导", "分管领导", "内设机构领导")
