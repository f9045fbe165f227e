"""Routing rules that share their compiled URL builders across the session's apps.

Werkzeug compiles two URL-building functions for every rule it binds (Python source made
from the rule, then ``compile``): 110-odd rules, two thirds of the cost of each app the tests
build — and each web test builds one. The functions depend only on the rule's text, its
parsed parts and its defaults, so an app whose rules are the same as an earlier app's reuses
that app's functions (each bound to its own rule, as werkzeug binds them); a rule seen first
is compiled by werkzeug as always. What an app routes and builds is unchanged: only the
compilation is not repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import ClassVar

from werkzeug.routing import Rule

Builder = Callable[..., tuple[str, str]]


class SharedBuilderRule(Rule):
    """A ``Rule`` whose builders come from a session-wide cache (Flask's ``url_rule_class``)."""

    _builders: ClassVar[dict[Hashable, Builder]] = {}

    def _compile_builder(self, append_unknown: bool = True) -> Builder:
        key = self._builder_key(append_unknown)
        if key is None:
            return super()._compile_builder(append_unknown)
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder

    def _builder_key(self, append_unknown: bool) -> Hashable | None:
        """Everything werkzeug makes the function from: the rule's text (the function's
        name), its parsed parts (``_trace``, host or subdomain included), its defaults and
        the converters that turn them into text; None (no sharing) if a default cannot be
        part of a key."""
        key = (self.rule, tuple(self._trace), tuple(sorted((self.defaults or {}).items())),
               tuple((name, type(conv)) for name, conv in self._converters.items()),
               append_unknown)
        try:
            hash(key)
        except TypeError:
            return None
        return key
