"""Running one instance: check it out, advance it, mirror tasks and timers, persist it.

This is the machinery behind the services in ``engine.services``; nothing here commits.
The invariant it keeps: after every save, the ``task`` table holds exactly the instance's
READY human tasks as ``open`` rows, and the ``timer`` table exactly its WAITING timers.

Import names from the module that defines them (``from engine.execution.saving import
save``); this package re-exports nothing.

============== ==============================================================================
module         what it holds
============== ==============================================================================
``checkout``   ``Live``; loading definitions, locking instances, ``check_out``; new workflows
               and instances
``stepping``   running a human task and the engine (``run_human_task``, ``run_engine``), the
               operators bound to a step and its acting user, fired timers logged, error text,
               the instance's status
``mirror``     writing the instance (``write_instance``) and its events; syncing the
               ``task`` / ``task_candidate`` and ``timer`` mirror tables; organisation codes
``escalation`` who gets a new task once its exclusions (回避, ``engine.separation``) are
               applied: ``assign``, up the runtime's ``escalation`` hook when they leave
               nobody
``saving``     ``save``, and call activities as child instances (``start_calls``,
               ``notify_parent``, ``collect_finished_children``), which save in turn
``workflow``   reading a workflow: ``ready_human_tasks``, ``waiting_timers``, ``all_tasks``
``pruning``    cutting a workflow's finished past out of its task tree (``prune``), so that
               a step's cost does not follow the instance's age and long loops run on
============== ==============================================================================

The imports point one way: ``workflow``, ``pruning`` ← ``checkout`` ← ``stepping``, ``escalation`` ←
``mirror`` ← ``saving``.
"""
