"""IRPM's workflow engine: plain Python over SpiffWorkflow and SQLAlchemy.

The way in is ``engine.services`` (each service takes a unit of work from
``engine.runtime.Runtime.uow()`` and owns its commit); ``engine.programme`` builds the
runtime the integrity-risk programme uses. Nothing here imports web/ or scheduler/.
"""
