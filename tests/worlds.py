"""The seeded worlds tests ask for, each built once per session into a template
(tests/databases.py) and copied into the database of every test that uses it. The fixtures
that hand a world to tests (``org``, ``city``, ``town`` …) depend on its ``*_world`` fixture
and only open a runtime of their own on the copy.

Each seed is the code the fixtures ran per test before, so a copy holds what a fresh build
held; the seeds' helpers are imported when first built (they build on the test packages'
conftests)."""

from __future__ import annotations

import time

from engine.programme.composition import programme_runtime
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import Template, TestDatabases, world
from tests.inbox_org import seed_org


@world
def inbox_org_world(test_databases: TestDatabases, migrated_template: Template) -> Template:
    """tests/inbox_org.py's organisation (财政局 and 发展和改革委员会, an account per official,
    admin and jiwei), the inbox cycle deployed, the simulated clock at its T0."""
    return test_databases.build("inbox_org", seed_org, migrated_template)


@world
def programme_town_world(test_databases: TestDatabases,
                         migrated_template: Template) -> Template:
    """The small city of tests/engine/programme/programme_org.py: the simulated clock at the
    engine tests' T0, the city and its logins imported, bpmn/ deployed."""
    from tests.engine.conftest import T0
    from tests.engine.programme.programme_org import seed_city

    return test_databases.build("programme_town", lambda settings: seed_city(settings, T0),
                                migrated_template)


@world
def rehearsal_town_world(test_databases: TestDatabases,
                         migrated_template: Template) -> Template:
    """The rehearsal town of tests/engine/programme/rehearsal_town.py (three units and their
    logins), imported through the programme's runtime."""
    from tests.engine.programme.rehearsal_town import load_town

    def seed(settings: Settings) -> None:
        rt = programme_runtime(settings)
        try:
            load_town(rt)
        finally:
            rt.close()

    return test_databases.build("rehearsal_town", seed, migrated_template)


@world
def demo_city_world(test_databases: TestDatabases, migrated_template: Template) -> Template:
    """The demo city (``load_demo_city``, seed 2011, the default password) loaded into a
    fresh migrated database — the one real load of the session's copies; ``seeded`` is that
    load's ``(summary, seconds)``."""
    from engine.programme.demo import load_demo_city

    def seed(settings: Settings) -> tuple[object, float]:
        rt = Runtime(settings)
        try:
            started = time.perf_counter()
            summary = load_demo_city(rt, say=None)
            return summary, time.perf_counter() - started
        finally:
            rt.close()

    return test_databases.build("demo_city", seed, migrated_template)


@world
def rehearsed_town_world(test_databases: TestDatabases,
                         rehearsal_town_world: Template) -> Template:
    """The rehearsal town after its whole 2011–2012 rehearsal (``rehearse``): every audit
    chain long and real — the instance event log, the register's history, the clock's and
    the commission's audited acts. ``seeded`` is the ``RehearsalResult``."""
    from engine.programme.rehearsal import rehearse

    def seed(settings: Settings) -> object:
        rt = programme_runtime(settings)
        try:
            return rehearse(rt)
        finally:
            rt.close()

    return test_databases.build("rehearsed_town", seed, rehearsal_town_world)
