"""Validation problems in the user's language.

The engine words each problem in English (for logs and the API) and gives its ``code`` and
values; here each code has a translatable sentence. A code without one (a new rule) shows
the engine's English rather than nothing.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from engine.services.design_lint.problem import Problem

TEXTS: dict[str, Any] = {
    "xml_extension": _l("Only .bpmn, .bpmn20.xml and .dmn files can be deployed."),
    "xml_duplicate": _l("Two files share this name."),
    "xml_malformed": _l("The file is not well-formed XML: %(detail)s"),
    "xml_encoding": _l("The file is not UTF-8 text."),
    "xml_kind": _l("This is not a %(kind)s file: its root element is in the namespace "
                   "'%(namespace)s'."),
    "xml_nothing": _l("Nothing to validate: no .bpmn or .dmn file."),
    "parser": _l("The engine cannot read this model: %(detail)s"),
    "start_event": _l("Process '%(process)s' has no start event: add one where an instance "
                      "begins."),
    "end_event": _l("Process '%(process)s' has no end event: add one where an instance "
                    "finishes."),
    "flow_reference": _l("Flow '%(flow)s' has %(end)s '%(ref)s', which is no element of "
                         "process '%(process)s': connect it to an element or delete it."),
    "flow_unreached": _l("%(kind)s '%(element)s' (%(id)s) has no incoming flow, so no "
                         "instance ever gets there: connect a flow to it or delete it."),
    "flow_dead_end": _l("%(kind)s '%(element)s' (%(id)s) has no outgoing flow, so an instance "
                        "stops there: connect it onwards (e.g. to an end event)."),
    "gateway_condition": _l("Flow '%(flow)s' leaves gateway '%(gateway)s' without a "
                            "condition: give it a condition or make it the gateway's default "
                            "flow."),
    "user_task_lane": _l("User task '%(task)s' is in no lane and names no candidate users or "
                         "groups, so only administrators could take it: move it into the "
                         "lane of the role that does it."),
    "lane_role": _l("Lane '%(lane)s' has the id '%(id)s', which is not a role; give it one of "
                    "these ids: %(roles)s."),
    "timer_missing": _l("Timer '%(event)s' has no time: set a date, a duration or a cycle."),
    "timer_empty": _l("The %(kind)s of timer '%(event)s' is empty."),
    "timer_expression": _l("The %(kind)s of timer '%(event)s' is not a valid expression "
                           "(%(reason)s); write e.g. \"P7D\" in quotes, or a variable name."),
    "timer_not_text": _l("The %(kind)s of timer '%(event)s' must be a text such as \"P7D\" or "
                         "\"2011-06-30T00:00:00+08:00\"."),
    "timer_not_iso": _l("The %(kind)s '%(value)s' of timer '%(event)s' is not ISO 8601 "
                        "(%(reason)s); e.g. \"%(example)s\"."),
    "timer_unquoted": _l("The %(kind)s of timer '%(event)s' is %(value)s without quotes, which "
                         "the engine reads as a variable name; write \"%(value)s\"."),
    "script_missing": _l("Script task '%(task)s' has no script."),
    "script_invalid": _l("The %(what)s of '%(owner)s' is not valid: %(reason)s"),
    "form_schema_json": _l("The form of '%(owner)s' (formSchema) is not valid JSON: "
                           "%(reason)s"),
    "form_schema_object": _l("The form of '%(owner)s' (formSchema) must be a JSON schema "
                             "object: {\"type\": \"object\", \"properties\": {…}}."),
    "due_in": _l("dueIn '%(value)s' of '%(owner)s' is not an ISO 8601 duration (%(reason)s); "
                 "e.g. P10D."),
    "excludes_empty": _l("excludes of '%(owner)s' is empty: name who may not do the task (e.g. "
                         "lane:post_holder), or remove the property."),
    "excludes_invalid": _l("excludes '%(value)s' of '%(owner)s' is not valid: %(reason)s"),
    "excludes_expression": _l("The expression of excludes of '%(owner)s' is not valid: "
                              "%(reason)s"),
    "excludes_lane": _l("excludes of '%(owner)s' names the lane '%(lane)s', which is not a role; "
                        "use one of these: %(roles)s."),
    "excludes_performer": _l("excludes of '%(owner)s' names the performer of '%(element)s', "
                             "which is not a user task of this process."),
    "task_context_invalid": _l("The task context of '%(owner)s' is not valid: %(reason)s"),
    "task_context_source": _l("The task context of '%(owner)s' shows '%(source)s', but the "
                              "process never sets or reads a variable '%(variable)s': correct "
                              "the source, or set the variable before the task."),
    "decision_unnamed": _l("Business rule task '%(task)s' does not name the decision it calls "
                           "(calledDecisionId)."),
    "decision_unknown": _l("Business rule task '%(task)s' refers to decision '%(ref)s', which "
                           "is neither deployed nor in this upload: upload its file with this "
                           "one, or fix the id."),
    "called_process_unnamed": _l("Call activity '%(task)s' does not name the process it calls "
                                 "(calledElement)."),
    "decision_case_failed": _l("Decision table '%(decision_name)s' (%(decision)s): test case "
                               "%(case)s fails — %(reason)s. Fix the rules or the case."),
    "decision_case_invalid": _l("Decision table '%(decision_name)s' (%(decision)s): test case "
                                "%(case)s is not valid — %(reason)s."),
    "form_file_encoding": _l("The form file is not UTF-8 text."),
    "form_file_json": _l("The form file is not valid JSON: %(detail)s."),
    "form_file_object": _l("A form file holds one JSON object ({…})."),
    "form_file_schema": _l("The form file is not a valid JSON Schema %(detail)s."),
    "form_file_form": _l("The engine cannot make a form of this schema: %(detail)s"),
    "form_file_missing": _l("User task '%(task)s' names %(property)s '%(file)s', which is not "
                            "among the form files: add the file, or fix the name."),
    "called_process_unknown": _l("Call activity '%(task)s' refers to process '%(ref)s', which "
                                 "is neither deployed nor in this upload: upload its file with "
                                 "this one, or fix the id."),
}
#: Words the sentences above take as values.
WORDS: dict[str, Any] = {
    "timeDate": _l("date"), "timeDuration": _l("duration"), "timeCycle": _l("cycle"),
    "condition": _l("condition"), "script": _l("script"), "pre-script": _l("pre-script"),
    "post-script": _l("post-script"),
}


def text(problem: Problem) -> str:
    template = TEXTS.get(problem.code)
    if template is None:
        return problem.message
    values = {k: str(WORDS.get(v, v)) for k, v in problem.params.items()}
    try:
        return str(template) % values
    except (KeyError, ValueError, TypeError):  # a catalog entry with a wrong placeholder
        return problem.message


def as_json(problem: Problem) -> dict[str, Any]:
    """The problem for the editor: ``message`` in the user's language, ``detail`` the
    engine's English."""
    found = problem.as_dict()
    found["detail"], found["message"] = problem.message, text(problem)
    return found
