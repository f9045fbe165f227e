"""The stored state format: version 2 is compact, and version 1 blobs still load."""

from __future__ import annotations

import zlib

import orjson

from engine import serialization
from engine.execution.checkout import load_definition
from engine.serialization import STATE_FORMAT, dump_state, load_state

from .conftest import Driver, post_attributes


def test_format_1_blobs_load_into_the_same_workflow(post: Driver) -> None:
    iid = post.start("simple_cycle", post_attributes(approval_power=True))
    instance = post.instance(iid)
    with post.rt.uow(write=False) as uow:
        bundle = load_definition(uow, instance.definition_id).bundle
    engine = post.rt.script_engine
    current = orjson.loads(zlib.decompress(instance.state))
    assert current["format"] == STATE_FORMAT == 2
    assert isinstance(current["tasks"], list)  # compact: a list, references by position

    old = dict(current)
    serialization._expand(old)  # what format 1 stored: the task mapping, UUID text
    old["format"] = 1
    blob_v1 = zlib.compress(orjson.dumps(old))

    assert dump_state(load_state(blob_v1, bundle, engine)) == \
        dump_state(load_state(instance.state, bundle, engine))
    assert len(instance.state) < len(blob_v1)
