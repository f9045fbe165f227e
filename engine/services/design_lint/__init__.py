"""Validating .bpmn/.dmn files before they are deployed: what the designer's editor shows.

=============== ==========================================================================
module          what it holds
=============== ==========================================================================
``validation``  ``validate_sources``: well-formedness, the lint rules, references, the
                engine's parser — in that order
``structure``   lint rules on a process's shape: start and end, gateway conditions, lanes
``expressions`` lint rules on timers, scripts and conditions, ``formSchema``, ``dueIn``
``exclusions``  the lint rule on ``excludes`` (separation of duties, 回避)
``context``     the lint rule on task context (``irpm:context``: fields and their sources)
``references``  called processes and decision tables, from the upload or deployed
``problem``     ``Problem`` (what a check reports) and how messages name elements
=============== ==========================================================================

Import the module you need (``from engine.services.design_lint import validation``); this
package re-exports nothing.
"""
