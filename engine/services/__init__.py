"""The one way into the runtime: each service takes a unit of work and owns its commit.

Import the module, not its names through this package (``from engine.services import tasks``
then ``tasks.complete_task(uow, …)``): a name says where it lives. The integrity programme's
services are in ``engine.programme.services``.

Modules: ``admin_rule`` (who may perform administrative acts, and their reason),
``api_tokens``, ``audit``, ``batches``, ``clock``, ``console_list``, ``decisions``
(a deployed decision table evaluated outside a process), ``deployment``, ``design``,
``design_lint`` (a package: ``validation`` and the rules it runs), ``design_tables``,
``diagrams``, ``drafts``, ``due_cards``, ``evidence``, ``heatmap``, ``inbox``,
``instance_admin``, ``instance_page``, ``instances``, ``mail_outbox``, ``messages``,
``notification_mail``, ``notifications``, ``rate_limits``, ``saved_filters``, ``task_access``
(who may take, work on and see a task), ``task_forms``, ``tasks``, ``timers``, ``token_move``,
``variable_index``, ``version_migration``.
"""
