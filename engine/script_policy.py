"""What a script of a deployed diagram may be: the compile-time policy and the builtins it sees.

``engine.scripting`` runs scripts; this module decides, before anything runs, what text is
accepted (RestrictedPython with IRPM's policy: no imports, no ``_`` names, no ``eval``/
``exec``, no introspection or I/O builtins, no bare ``except`` that could swallow the budget's
stop) and which builtins the code sees (RestrictedPython's safe set, the designers' extras,
the budget's guarded operators and the one lazy import the standard library needs). Compiled
code is cached by text and mode, because a DMN decision evaluates many tiny expressions and
the same texts recur for every instance.
"""

from __future__ import annotations

import _strptime  # noqa: F401  (imported now: datetime.strptime imports it lazily)
import ast
import builtins
import operator
import re
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any, Literal

from RestrictedPython import (
    PrintCollector,
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_builtins,
)
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

from engine.budget_guards import (
    SIZED_STR_METHODS,
    budgeted_range,
    guarded_format,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    sized_str_method,
)
from engine.errors import ScriptRejected

Mode = Literal["eval", "exec"]

#: Builtins added to RestrictedPython's safe set. RestrictedPython leaves out the ones that
#: iterate in C (sorted, zip, ...) only because they would bypass a permission-checking
#: ``_getiter_``; ours performs no per-item checks, so they add no reach and designers need them.
ALLOWED_EXTRA_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "min", "max", "sum", "any", "all", "sorted", "enumerate", "zip", "map", "filter",
        "list", "dict", "set", "tuple", "len", "range", "abs", "round", "int", "float", "str",
        "bool", "isinstance",
    )
}

#: Taken out of RestrictedPython's safe set. ``setattr``/``delattr`` are guarded there but are
#: still reflection we do not want in diagrams; ``__build_class__`` lets scripts define
#: classes, which nothing in a process needs. Exceptions that do not derive from ``Exception``
#: escape SpiffWorkflow's ``except Exception`` wrapping and would kill the worker
#: (``raise SystemExit``), so a script must not be able to raise them.
_REMOVED_SAFE_BUILTINS = frozenset({
    "setattr", "delattr", "__build_class__",
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",
})

#: Calls refused at compile time so the designer gets "Calling "open" is not allowed" instead
#: of a NameError at run time. None of these exist in the sandbox's builtins either; the
#: compile check is only about a precise message. Plain references (a task-data field called
#: ``type``) stay legal, which is why only calls are checked.
FORBIDDEN_CALLS = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr",
    "hasattr", "globals", "locals", "vars", "dir", "type", "input", "breakpoint",
    "memoryview", "help", "exit", "quit", "object", "super", "classmethod", "staticmethod",
    "property",
})

#: Forbidden calls RestrictedPython already reports with its own message; reporting them a
#: second time would only repeat the line.
_REPORTED_BY_RESTRICTEDPYTHON = frozenset({"eval", "exec", "breakpoint"})

_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": guarded_mul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": guarded_mod, "**=": guarded_pow,
    "<<=": guarded_lshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}

_LINE_PREFIX = re.compile(r"Line (\d+):")

#: Names the sandbox provides as globals unless task data (which wins, as in SpiffWorkflow's
#: own environment) shadows them.
DEFAULT_GLOBALS: dict[str, Any] = {"datetime": datetime, "date": date, "timedelta": timedelta}


#: Binary operators whose C implementation can be made huge by a short text: rewritten into
#: calls of the budget's checks (``_mul_(a, b)`` for ``a * b``) at compile time.
_GUARDED_OPERATORS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}

#: Modules the standard library imports lazily from code a script calls (``datetime.strptime``
#: imports ``_strptime``); the sandbox's ``__import__`` hands out these, already imported, and
#: refuses every other name.
_LAZY_IMPORTS = frozenset({"_strptime"})


def _lazy_import(name: str, globals: Any = None, locals: Any = None,
                 fromlist: Any = (), level: int = 0) -> Any:
    """The sandbox's ``__import__``: only for the standard library's own lazy imports.

    Scripts cannot call it (``import`` and names starting with ``_`` are refused at compile
    time); C code such as ``datetime.strptime`` finds it in the builtins of the calling frame.
    """
    module = sys.modules.get(name) if level == 0 and name in _LAZY_IMPORTS else None
    if module is None:
        raise ImportError(f"scripts cannot import {name!r}")
    return module


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    """RestrictedPython's ``safer_getattr``, with the text methods whose result size an
    argument sets (``'a'.ljust(10**10)``) checked against the memory budget."""
    if isinstance(obj, str) and name in SIZED_STR_METHODS:
        return sized_str_method(obj, name)
    return safer_getattr(obj, name, *default)


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    """Implement ``x += y`` for names; RestrictedPython rewrites it into this hook call."""
    return _INPLACE_OPERATORS[op](target, value)


def _getitem(obj: Any, key: Any) -> Any:
    """Subscript hook: plain indexing, since dunder access is already refused elsewhere."""
    return obj[key]


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Hook for ``f(*args, **kwargs)`` calls; nothing to guard beyond the callee itself."""
    return func(*args, **kwargs)


def sandbox_builtins() -> dict[str, Any]:
    """Build the ``__builtins__`` mapping shared by every evaluation.

    The RestrictedPython guard hooks (``_getattr_`` and friends) live here rather than in
    the per-call namespace, so that the per-call namespace is just task data: no globals
    dictionary has to be copied for each of the many DMN cell evaluations.
    """
    allowed = {k: v for k, v in safe_builtins.items() if k not in _REMOVED_SAFE_BUILTINS}
    allowed.update(ALLOWED_EXTRA_BUILTINS)
    allowed.update(range=budgeted_range, pow=guarded_pow)
    allowed.update(
        __import__=_lazy_import,
        _mul_=guarded_mul,
        _pow_=guarded_pow,
        _lshift_=guarded_lshift,
        _mod_=guarded_mod,
        _format_=guarded_format,
        _getattr_=_getattr,
        _getitem_=_getitem,
        _getiter_=iter,
        _iter_unpack_sequence_=guarded_iter_unpack_sequence,
        _unpack_sequence_=guarded_unpack_sequence,
        _write_=full_write_guard,
        _inplacevar_=_inplacevar,
        _apply_=_apply,
        # print() output is collected and dropped: there is no console to show it on.
        _print_=PrintCollector,
    )
    return allowed


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus refusal of imports and of dangerous builtin calls.

    RestrictedPython itself lets ``import`` compile and defers to a ``__import__`` hook at run
    time; a diagram has no business importing anything, so it is refused before it runs.
    """

    def visit_Import(self, node: ast.Import) -> Any:
        """Refuse ``import x``: modules reach files, processes and the network."""
        self.error(node, "Import statements are not allowed.")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        """Refuse ``from x import y`` for the same reason as ``import x``."""
        self.error(node, "Import statements are not allowed.")
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        """``a * b``, ``a ** b``, ``a << b`` become calls of the budget's size checks."""
        visited = super().visit_BinOp(node)
        guard = _GUARDED_OPERATORS.get(type(node.op))
        if guard is None or not isinstance(visited, ast.BinOp):
            return visited
        func = ast.copy_location(ast.Name(guard, ast.Load()), visited)
        call = ast.Call(func=func, args=[visited.left, visited.right], keywords=[])
        return ast.copy_location(call, visited)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """``f'{x:>{w}}'`` becomes ``f'{_format_(x, f"">{w}"")}'``: the spec's widths are sizes
        the budget checks. A conversion (``!r``) is applied first, as Python does."""
        visited = super().visit_FormattedValue(node)
        if not isinstance(visited, ast.FormattedValue) or visited.format_spec is None:
            return visited
        value = visited.value
        if visited.conversion != -1:
            value = ast.copy_location(ast.JoinedStr(values=[ast.copy_location(
                ast.FormattedValue(value=value, conversion=visited.conversion,
                                   format_spec=None), visited)]), visited)
        func = ast.copy_location(ast.Name("_format_", ast.Load()), visited)
        call = ast.copy_location(
            ast.Call(func=func, args=[value, visited.format_spec], keywords=[]), visited)
        return ast.copy_location(
            ast.FormattedValue(value=call, conversion=-1, format_spec=None), visited)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        """Refuse a bare ``except:``: it would catch the budget's interruption."""
        if node.type is None:
            self.error(node, "A bare 'except:' is not allowed: name the exceptions "
                             "(except Exception:).")
        return super().visit_ExceptHandler(node)

    def visit_Call(self, node: ast.Call) -> Any:
        """Name the forbidden builtin instead of leaving a bare NameError for run time."""
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in FORBIDDEN_CALLS
            and func.id not in _REPORTED_BY_RESTRICTEDPYTHON
            and not func.id.startswith("_")  # already refused as an invalid name
        ):
            self.error(
                node,
                f'Calling "{func.id}" is not allowed: scripts have no access to files, '
                "processes, network, introspection or code.",
            )
        return super().visit_Call(node)


_CompileOutcome = tuple[CodeType | None, tuple[str, ...]]


@lru_cache(maxsize=4096)
def _compile_cached(source: str, mode: Mode) -> _CompileOutcome:
    """Compile once per distinct text and mode; rejections are cached too.

    A plain SyntaxError propagates (and is not cached) so SpiffWorkflow can attach line and
    offset to its WorkflowTaskException, exactly as with its own environment.
    """
    # Parsing first keeps real SyntaxErrors (RestrictedPython would flatten them into text).
    # "<string>" is the file name SpiffWorkflow looks for in tracebacks to find the line.
    if mode == "eval":
        # Condition and cell texts keep the XML's indentation and newlines; eval() itself
        # tolerates leading blanks, so SpiffWorkflow's environment accepted them too.
        tree = ast.parse(source.strip(), "<string>", "eval")
        result = compile_restricted_eval(tree, "<string>", policy=_Policy)
    else:
        module = ast.parse(source, "<string>", "exec")
        result = compile_restricted_exec(module, "<string>", policy=_Policy)
    return result.code, tuple(result.errors)


def compile_script(source: str, mode: Mode) -> CodeType:
    """Return the cached restricted code object for ``source``.

    Raises :class:`ScriptRejected` (with ``details["line"]`` and ``details["errors"]``) if
    the text uses anything the sandbox forbids, and ``SyntaxError`` if it is not Python.
    Deployment can call this to refuse a diagram before any instance runs it.
    """
    code, errors = _compile_cached(source, mode)
    if errors or code is None:
        match = _LINE_PREFIX.match(errors[0]) if errors else None
        raise ScriptRejected(
            " ".join(errors) or "Script rejected.",
            line=int(match.group(1)) if match else None,
            errors=list(errors),
        )
    return code
