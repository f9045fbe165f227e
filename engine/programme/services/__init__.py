"""The programme's services, imported as modules (``register_grading.grade_post(uow, …)``).
Like the runtime's, each takes a unit of work and owns its commit."""
