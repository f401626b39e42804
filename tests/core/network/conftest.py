"""Network fixtures: a NetworkService over a real slicebox, listeners on loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from slicebox_core import Slicebox
from slicebox_core.network import NetworkService, NetworkSettings, Timeouts

FAST = NetworkSettings(
    bind_host="127.0.0.1",
    timeouts=Timeouts(connection=3, acse=3, dimse=5, network=2),
    max_associations=8,
)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def network_for(sb: Slicebox, settings: NetworkSettings = FAST) -> NetworkService:
    """The service as the facade builds it (``sb.network``), with test settings; the facade's
    own service already registers SCP sources and SCU destinations on ``sb.system``."""
    return NetworkService(
        sb.db,
        sb.images,
        sb.index,
        sb.log,
        sb.config,
        events=sb.events,
        settings=settings,
    )


@pytest.fixture
def net(sb_sqlite: Slicebox) -> Iterator[NetworkService]:
    """The network service of ``sb_sqlite``; listeners stopped afterwards."""
    service = network_for(sb_sqlite)
    try:
        yield service
    finally:
        service.stop_listeners()


@pytest.fixture
def listening(net: NetworkService) -> tuple[NetworkService, int]:
    """``net`` with one running SCP (AE ``SLICEBOX``): (service, port)."""
    port = free_port()
    net.create_scp("incoming", "SLICEBOX", port)
    net.start_listeners(poll_interval=0)
    assert net.listener_port(1) == port
    return net, port
