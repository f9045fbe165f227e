"""The session's apps share compiled URL builders (tests/routing.py): a shared builder
builds what werkzeug's own compilation of the same rule builds."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, BaseConverter

from engine.settings import Settings
from tests.routing import SharedBuilderRule

from .conftest import make_app


def _value(converter: BaseConverter) -> object:
    """A value the converter takes: one of an ``any``'s items, else 7."""
    return sorted(converter.items)[0] if isinstance(converter, AnyConverter) else 7


def _urls(app: Flask) -> dict[str, tuple[str, str]]:
    """Every rule built with a value for each of its arguments, with and without unknown
    ones (which become the query string)."""
    urls = {}
    for rule in app.url_map.iter_rules():
        values = {name: _value(rule._converters[name]) for name in rule.arguments}
        built = rule.build(values, append_unknown=False)
        with_query = rule.build({**values, "page": 2, "q": "税 务"})
        assert built is not None and with_query is not None, rule.rule
        urls[f"{rule.endpoint} {rule.rule}"] = (built[1], with_query[1])
    return urls


def test_shared_builders_build_what_werkzeugs_own_build(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = make_app(settings), make_app(settings)
    monkeypatch.setattr(Flask, "url_rule_class", Rule)
    plain = make_app(settings)
    try:
        assert all(isinstance(rule, SharedBuilderRule) for rule in second.url_map.iter_rules())
        assert not any(isinstance(rule, SharedBuilderRule) for rule in plain.url_map.iter_rules())
        urls = _urls(second)
        assert len(urls) > 100 and urls == _urls(plain) == _urls(first)
        assert urls["inbox.tasks /inbox/<any(mine, claimable, done, all):view>"] == (
            "/inbox/all", "/inbox/all?page=2&q=%E7%A8%8E+%E5%8A%A1")
        # the second app compiled nothing: its rules run the first app's functions
        for mine, theirs in zip(first.url_map.iter_rules(), second.url_map.iter_rules(),
                                strict=True):
            assert mine._build.__func__ is theirs._build.__func__, mine.rule
    finally:
        for app in (first, second, plain):
            app.extensions["irpm"].close()
