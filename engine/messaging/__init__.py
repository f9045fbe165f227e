"""Messages between instances and from outside, as SpiffWorkflow 3.x runs them.

``waits``: the ``message_wait`` rows, kept in step with each workflow at save.
``routing``: which instances and which message start events a message reaches —
correlation as SpiffWorkflow computes and compares it.
``delivery``: catching a message in the instances it reaches, starting the processes whose
message start event catches it, and passing on what an instance threw.
"""
