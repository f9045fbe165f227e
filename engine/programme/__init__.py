"""The integrity programme (廉政风险防范管理): the only package that knows what a unit, a post
or a risk point is. It plugs into the generic runtime (``engine``) through the runtime's own
extension points, assembled in ``composition``; the runtime never imports it.

=========================== =================================================================
module                      what it holds
=========================== =================================================================
``composition``             ``programme_runtime``: the runtime with the programme plugged in
``models``                  organisation, risk register, milestones, public feedback
``services``                the programme's services (one module per aggregate)
``routing``                 lanes → the people of the instance's unit (the candidate resolver)
``directory``               the organisation as the runtime's ``Directory`` (logins, groups)
``membership``              who is in a group (the directory's ``members``)
``notification_wording``    how its notifications read in e-mail (post, feedback, milestones)
``task_columns``            unit, department and post names in task lists, post-name search
``grading``                 the level rules, asked of the deployed decision tables
``operators``               ``org.*`` / ``register.*`` service-task operators
``milestone_operators``     ``milestones.*`` service-task operators
``coverage``                what each milestone requires of a unit
``orgfile`` / ``orgschema`` the organisation's CSV/XLSX exchange format and its rows
``registerschema``          the register's inputs (risks, measures, levels)
``milestoneschema``         the milestone plan's inputs
``demo_catalogue``          the demo city's bureaus, departments, post functions (data)
``demo_city``               the demo city generated from a seed (no database)
``demo``                    loading the demo city (``irpm demo load``)
``rehearsal``               the demo city's 2011–2012 rehearsal (the driver)
``rehearsal_answers``       what the rehearsal's people write in each task
``rehearsal_events``        what else happens: public feedback, a disposal started by hand
``rehearsal_proof``         what a rehearsal proves: self-supervised steps, disposals by source
=========================== =================================================================
"""
