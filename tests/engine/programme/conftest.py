"""The integrity programme's tests (engine/programme/): they build on the engine tests'
driver, clock and post attributes (tests/engine/conftest.py), re-exported here so that they
import them from their own package's conftest."""

from __future__ import annotations

from ..conftest import ATTRIBUTES, T0, Driver, post_attributes

__all__ = ["ATTRIBUTES", "T0", "Driver", "post_attributes"]
