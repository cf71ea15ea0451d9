"""The relay's publisher gives up on a broker that went silent (found by the issue 9 review: a frozen
connection held the relay's wait for a confirm forever, and its passes stopped). Not yet proven
against a connection frozen after its handshake: that needs a proxy that freezes (next session)."""

from __future__ import annotations

from onestop_chassis import publishing
from onestop_chassis.config import ServiceSettings, load_settings


def test_the_publisher_carries_the_socket_timeouts():
    settings = load_settings(ServiceSettings, service_name="intake")
    options = publishing.confirming_publisher(settings).publish_kwargs["transport_options"]
    assert options["read_timeout"] == options["write_timeout"] == publishing.SOCKET_TIMEOUT_SECONDS
