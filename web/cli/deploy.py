"""``irpm deploy`` and ``irpm definitions`` — process definitions in, and what is deployed."""

from __future__ import annotations

from pathlib import Path

import click

from engine.parsing import read_sources
from engine.services import deployment
from engine.services.design_lint.validation import administrators_tasks

from .format import Column
from .state import State, pass_state


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--by", "deployed_by", envvar="IRPM_USER", help="Who deploys (default: IRPM_USER).")
@pass_state
def deploy(state: State, paths: tuple[Path, ...], deployed_by: str | None) -> None:
    """Deploy .bpmn/.dmn files or directories (default: IRPM_BPMN_DIR, bpmn/).

    A process whose sources changed gets a new version; unchanged ones keep theirs. Unlike
    the designer, deploy runs no lint: a user task in no lane and without candidates is
    deployed with a warning on stderr, and at run time only administrators may take it.
    """
    sources = read_sources(paths or [state.rt.settings.bpmn_dir])
    with state.rt.uow() as uow:
        results = deployment.deploy(uow, sources, deployed_by=deployed_by)
    for problem in administrators_tasks(sources):
        click.echo(f"warning: {problem.filename}: {problem.message} (deployed: at run time "
                   "only administrators may take it)", err=True)
    rows = [{"process_id": r.process_id, "version": r.version, "definition_id": r.definition_id,
             "result": "created" if r.created else "unchanged"} for r in results]
    state.listing(rows, [Column("PROCESS", "process_id"), Column("VERSION", "version"),
                         Column("RESULT", "result")], "nothing to deploy")


@click.command()
@pass_state
def definitions(state: State) -> None:
    """List deployed process definitions, every version."""
    with state.rt.uow(write=False) as uow:
        rows = [{"process_id": d.process_id, "version": d.version, "name": d.name,
                 "deployed_at": d.deployed_at, "deployed_by": d.deployed_by,
                 "instances": d.instances} for d in deployment.list_definitions(uow)]
    state.listing(rows, [Column("PROCESS", "process_id"), Column("VERSION", "version"),
                         Column("NAME", "name", 40), Column("DEPLOYED", "deployed_at"),
                         Column("BY", "deployed_by"), Column("INSTANCES", "instances")],
                  "no process is deployed; run `irpm deploy`")
