"""APScheduler jobs that drive BPMN timers and the programme's milestone deadlines.

Jobs stay thin: build a unit of work from an engine ``Runtime`` and call an engine service
(``engine.services.fire_due_timers`` and friends); no Flask app context is needed.
"""
