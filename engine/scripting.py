"""Sandboxed script engine for user-edited BPMN and DMN.

Every script task, gateway condition, timer expression and DMN cell of a deployed diagram is
text typed by a process designer, not code reviewed by a developer. SpiffWorkflow's stock
``TaskDataEnvironment`` hands that text straight to ``eval``/``exec``, which would let one
diagram read files, start processes or walk ``().__class__.__subclasses__()`` to anything in
the server. This module routes all of it through RestrictedPython instead:

* compile time: imports, names and attributes starting with ``_``, ``eval``/``exec`` and
  calls to introspection / I/O builtins are refused with :class:`ScriptRejected`, whose
  message names the offending construct and line, before a single statement runs;
* run time: the code only sees a short allow-list of builtins plus ``datetime``, ``date``,
  ``timedelta`` and the caller's ``extra_globals``; attribute reads go through
  ``safer_getattr`` and writes through a guard that lets scripts mutate dicts and lists only.

Compiled code objects are cached by source text, because a DMN decision evaluates many tiny
expressions and the same texts recur for every instance of a process.

RestrictedPython is not a resource limiter: every evaluation runs under a ``ScriptBudget``
(``engine.budgets``: a watchdog for time and memory, and ``*``, ``**``, ``<<``, ``pow`` and
``range`` checked before C code runs them), and a script's result is checked to be storable
(``engine.serialization.unstorable``) before it reaches task data, so the step that made an
unstorable value fails naming the variable instead of every later save.

What text is accepted and which builtins it sees is ``engine.script_policy``'s: lazy imports
inside the standard library (``datetime.strptime`` imports ``_strptime`` on first use) look
``__import__`` up in the sandbox's builtins, and the sandbox offers one that hands out only
the modules of its ``_LAZY_IMPORTS``, already imported there, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.budgets import ScriptBudget, run_within
from engine.errors import ScriptRejected
from engine.operators import dispatch
from engine.script_policy import (
    ALLOWED_EXTRA_BUILTINS,
    DEFAULT_GLOBALS,
    FORBIDDEN_CALLS,
    Mode,
    compile_script,
    sandbox_builtins,
)
from engine.serialization import unstorable

__all__ = [
    "ALLOWED_EXTRA_BUILTINS",
    "FORBIDDEN_CALLS",
    "Mode",
    "SandboxedEnvironment",
    "SandboxedScriptEngine",
    "compile_script",
    "create_script_engine",
]


class SandboxedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that runs restricted, cached code.

    Same contract as the parent: task data is the namespace, names a script assigns end up in
    task data, and globals, external context and anything callable are removed afterwards.
    ``self.globals`` keeps holding ``datetime``/``date``/``timedelta`` and ``extra_globals``
    so the parent's overwrite check and clean-up still see them.
    """

    def __init__(self, environment_globals: Mapping[str, Any] | None = None,
                 budget: ScriptBudget | None = None) -> None:
        #: What each evaluation may spend (``engine.budgets``).
        self.budget = budget or ScriptBudget()
        merged = dict(DEFAULT_GLOBALS)
        merged.update(environment_globals or {})
        super().__init__(merged)
        # Globals ride along in __builtins__, so task data (the real globals) shadows them
        # just as it does in SpiffWorkflow's environment, without copying them per call.
        self._builtins = sandbox_builtins()
        self._builtins.update(self.globals)

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate an expression against a shallow copy of task data.

        The copy is the one SpiffWorkflow itself makes: it keeps a walrus or the injected
        ``__builtins__`` out of task data. Globals are not copied.
        """
        code = compile_script(expression, "eval")
        self._prepare_context(context)
        namespace = {**external_context, **context} if external_context else dict(context)
        namespace["__builtins__"] = self._builtins
        return run_within(self.budget, eval, code, namespace)

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run a script in place on task data, then strip what must not persist."""
        code = compile_script(script, "exec")  # rejected before anything touches task data
        external = dict(external_context or {})
        self.check_for_overwrite(context, external)
        self._prepare_context(context)
        context.update(external)
        context["__builtins__"] = self._builtins
        try:
            run_within(self.budget, exec, code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external)
        _refuse_unstorable(context)
        return True

    def _remove_globals_and_functions_from_context(
        self,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> None:
        """Parent clean-up plus the print collector RestrictedPython binds as ``_print``."""
        super()._remove_globals_and_functions_from_context(context, external_context)
        context.pop("_print", None)


class DataNotStorable(Exception):
    """A script left a value in task data that the state cannot hold (a set, a list that
    contains itself, ...): refused at that script, naming the variable, instead of failing
    every later save of the instance."""


def _refuse_unstorable(context: dict[str, Any]) -> None:
    """Take unstorable values out of ``context`` (so the failed task can still be saved) and
    raise ``DataNotStorable`` naming them."""
    bad = unstorable(context)
    if not bad:
        return
    for name in bad:
        context.pop(name, None)
    raise DataNotStorable("; ".join(f"variable '{name}' cannot be stored: {why}"
                                    for name, why in bad.items()))


def _rejected_line(err: BaseException) -> int | None:
    """Line number carried by a ScriptRejected, which never has a traceback into the script."""
    line = err.details.get("line") if isinstance(err, ScriptRejected) else None
    return line if isinstance(line, int) else None


def _describe(err: BaseException) -> str:
    """One-line reason: our own message for ScriptRejected, ``Type: message`` otherwise."""
    if isinstance(err, ScriptRejected):
        return f"ScriptRejected: {err.message}"
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class SandboxedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose errors always carry the reason in their message.

    SpiffWorkflow's ``evaluate`` wraps failures as ``Error evaluating expression '...'`` and
    drops the cause from the text, so a refused gateway condition or DMN cell would not say
    why; its ``execute`` builds ``Type:args[0]`` and itself crashes with TypeError when
    ``args[0]`` is not a string (``KeyError(1)``). Both are fixed here; the original
    exception is kept as ``__cause__``.
    """

    environment: SandboxedEnvironment

    def evaluate(
        self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Evaluate for ``task``; failures become WorkflowTaskException naming the reason."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            wte = WorkflowTaskException(
                f"Error evaluating expression '{expression}': {_describe(err)}",
                task=task,
                exception=err,
                line_number=_rejected_line(err),
            )
            raise wte from err

    def execute(
        self, task: Any, script: str, external_context: Mapping[str, Any] | None = None
    ) -> bool:
        """Run a script for ``task``; failures become WorkflowTaskException naming the reason."""
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from err

    def call_service(self, task: Any, **kwargs: Any) -> str:
        """Service tasks call IRPM's registered operators (``engine.operators``); the result
        goes back as JSON, as SpiffWorkflow's ServiceTask expects."""
        try:
            result = dispatch(task, kwargs.get("operation_name", ""),
                              kwargs.get("operation_params") or {})
            return json.dumps(result, default=str)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Service operator '{kwargs.get('operation_name')}' failed: {_describe(err)}",
                task=task, exception=err) from err

    def create_task_exec_exception(
        self, task: Any, script: str, err: Exception
    ) -> SpiffWorkflowException:
        """Like the parent, but robust to non-string args and aware of ScriptRejected lines."""
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        rejected_line = _rejected_line(err)
        if rejected_line is not None:
            line_number = rejected_line
            lines = script.splitlines()
            error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        if isinstance(err, SpiffWorkflowException):
            err.add_note(f"Python script error on line {line_number}: '{error_line}'")
            return err
        return WorkflowTaskException(
            _describe(err), task=task, exception=err,
            line_number=line_number, error_line=error_line,
        )


def create_script_engine(extra_globals: Mapping[str, Any] | None = None,
                         budget: ScriptBudget | None = None) -> PythonScriptEngine:
    """Return the script engine every workflow of the project must be run with.

    ``extra_globals`` are made available to scripts and expressions (helper functions, lookup
    tables); they are trusted project code, so whatever they expose is reachable from
    diagrams. ``budget`` bounds each evaluation (default: ``ScriptBudget()``, 2 s / 256 MB).
    The engine is not serialized with a workflow: attach it again after loading.
    """
    return SandboxedScriptEngine(environment=SandboxedEnvironment(extra_globals, budget))
