"""``irpm audit verify`` — check the hash-chained logs (``admin_audit``, ``instance_event``,
``register_change``): every row against its hash and the link before it, each chain's end
against its head. Registered on ``irpm`` by web/cli/__init__.py.

Prints one line per chain — its length and head hash, worth keeping outside the database —
or its first break (table, row id, expected against found), and exits with status 1 when
any chain is broken. The walk is ``engine.services.audit_verify``'s, in one read
transaction."""

from __future__ import annotations

import time

import click

from engine.services.audit_verify import verify_chains

from .format import Failure
from .state import State


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.pass_obj
def verify(state: State) -> None:
    """Walk every chain; report its first broken link and exit 1, or its head."""
    started = time.perf_counter()
    with state.rt.uow(write=False) as uow:
        reports = verify_chains(uow)
    seconds = time.perf_counter() - started
    lines = [r.broken.describe() if r.broken else
             f"{r.chain}: intact, {r.rows} link(s), head {r.head_seq} {r.head_hash}"
             for r in reports]
    state.say({"seconds": round(seconds, 3), "chains": [
        {"chain": r.chain, "rows": r.rows, "head_seq": r.head_seq, "head_hash": r.head_hash,
         "broken": None if r.broken is None else {
             "kind": r.broken.kind, "row_id": r.broken.row_id, "seq": r.broken.seq,
             "expected": r.broken.expected, "found": r.broken.found}}
        for r in reports]}, "\n".join([*lines, f"({seconds:.2f} s)"]))
    broken = [r.chain for r in reports if r.broken]
    if broken:
        raise Failure(f"audit chain broken: {', '.join(broken)}")
