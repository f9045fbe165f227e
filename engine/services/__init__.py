"""The one way into the runtime: each service takes a unit of work and owns its commit.

Import the module, not its names through this package (``from engine.services import tasks``
then ``tasks.complete_task(uow, …)``): a name says where it lives. The integrity programme's
services are in ``engine.programme.services``.

Modules: ``api_tokens``, ``audit``, ``batches``, ``clock``, ``console_list``, ``decisions``,
``deployment``, ``design``, ``design_lint``, ``design_tables``, ``diagrams``, ``drafts``,
``evidence``, ``heatmap``, ``inbox``, ``instance_admin``, ``instance_page``, ``instances``,
``mail_outbox``, ``messages``, ``notifications``, ``rate_limits``, ``saved_filters``,
``task_forms``, ``tasks``, ``timers``, ``token_move``, ``variable_index``,
``version_migration``.
"""
