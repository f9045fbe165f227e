"""``irpm audit verify`` on a rehearsed town: each chain intact with its length and head;
on a tampered copy, the first broken link of each chain tampered with (table, row id,
expected against found) and exit status 1."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.audit_tamper import copy_of, tamper
from tests.databases import Template
from web.cli import main

CHAINS = ("admin_audit", "instance_event", "register_change")


def verify(url: str, *options: str) -> Result:
    runner = CliRunner(env={"IRPM_DATABASE_URL": url, "IRPM_USER": None})
    return runner.invoke(main, [*options, "audit", "verify"], catch_exceptions=False)


def row(url: str, sql: str) -> tuple[int, int, str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(sql)).one()
    finally:
        engine.dispose()
    return found[0], found[1], found[2]


def test_a_rehearsed_town_verifies_clean(database_url: str,
                                         rehearsed_town_world: Template) -> None:
    result = verify(database_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == list(CHAINS)
    assert all(": intact, " in line for line in lines[:3])
    assert lines[3].endswith(" s)")
    report = json.loads(verify(database_url, "--json").stdout)
    chains = {c["chain"]: c for c in report["chains"]}
    assert all(c["broken"] is None and c["rows"] == c["head_seq"] for c in chains.values())
    assert chains["instance_event"]["rows"] > 200 and chains["register_change"]["rows"] > 200
    assert f"head {chains['instance_event']['head_seq']} " \
        f"{chains['instance_event']['head_hash']}" in lines[1]


def test_a_tampered_copy_names_each_broken_link_and_fails(
        database_url: str, rehearsed_town_world: Template, tmp_path: Path) -> None:
    copy = copy_of(database_url, tmp_path)
    event_id, event_seq, event_hash = row(
        copy, "SELECT id, chain_seq, row_hash FROM instance_event WHERE chain_seq = 100")
    gone_id, gone_seq, _ = row(
        copy, "SELECT id, chain_seq, row_hash FROM register_change WHERE chain_seq = 50")
    next_id, _, _ = row(
        copy, "SELECT id, chain_seq, row_hash FROM register_change WHERE chain_seq = 51")
    tamper(copy, "instance_event",
           f"UPDATE instance_event SET actor = 'someone-else' WHERE id = {event_id}")
    tamper(copy, "register_change", f"DELETE FROM register_change WHERE id = {gone_id}")

    result = verify(copy)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("admin_audit: intact, ")
    assert lines[1].startswith(
        f"instance_event: changed at row id {event_id} (link {event_seq}): "
        f"expected row_hash {event_hash}, found content hashing to ")
    assert lines[2] == (f"register_change: missing at row id {next_id} (link {gone_seq + 1}): "
                        f"expected link {gone_seq}, found link {gone_seq + 1}")
    assert result.stderr == "error: audit chain broken: instance_event, register_change\n"
    if copy != database_url:  # SQLite: the original file verifies clean still
        assert verify(database_url).exit_code == 0
