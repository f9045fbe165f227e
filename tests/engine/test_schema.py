"""The migrations build exactly the schema the models declare (Alembic's autogenerate
comparison finds nothing to change), on SQLite and on PostgreSQL; data migrations move what
they rename."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from engine.db import make_engine
from engine.migrate import alembic_config, upgrade
from engine.models import Base, TaskCandidate
from tests.conftest import FIXTURES, deploy_text

from .conftest import Driver


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_0014_moves_open_tasks_to_the_discipline_officer_group(driver: Driver) -> None:
    """A unit's discipline officer's group was ``discipline_commission:<unit>`` until 0014;
    the migration renames the candidates of open tasks both ways (upgrade and downgrade)."""
    xml = (FIXTURES / "gateways.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:userTask id="normal_review" name="Normal review">',
        '<bpmn:userTask id="normal_review" name="Normal review">\n'
        '      <bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="candidateGroups" value="discipline_officer:czj" />'
        '</spiffworkflow:properties></bpmn:extensionElements>').replace(
        'xmlns:xsi=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
                      'xmlns:xsi=', 1)
    deploy_text(driver.rt, "gateways.bpmn", xml)
    driver.start("gateways", {"amount": 1, "category": "x"})

    def groups() -> list[str]:
        with driver.rt.db.connect() as conn:
            return list(conn.execute(select(TaskCandidate.name).where(
                TaskCandidate.kind == "group")).scalars())

    assert groups() == ["discipline_officer:czj"]
    with driver.rt.db.begin() as connection:
        config = alembic_config(driver.rt.db.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
    assert groups() == ["discipline_commission:czj"]
    upgrade(driver.rt.db)
    assert groups() == ["discipline_officer:czj"]
