"""Fixtures shared by the tiers that use the real local stack."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from stack import AMQP_TEST_URI, MONGODB_URI, SERVERS, port_open  # noqa: E402 - found through sys.path above


@pytest.fixture(scope="session")
def local_stack():
    """The real servers must be up; a missing one fails the test run, it is never faked or skipped."""
    missing = [f"{name} on 127.0.0.1:{port}" for name, port in SERVERS.items() if not port_open(port)]
    if missing:
        pytest.fail("not answering: " + ", ".join(missing) +
                    ". Start the local stack with `make stack` (or run the tests with `make test`).",
                    pytrace=False)
    return {"mongodb_uri": MONGODB_URI, "amqp_uri": AMQP_TEST_URI}
