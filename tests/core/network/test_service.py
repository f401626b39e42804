"""SCP/SCU configuration (spec §3.10, §3.11) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from slicebox_core import InvalidInput, NotFound, PeerUnavailable, Slicebox
from slicebox_core.events import SourceAdded, SourceDeleted
from slicebox_core.models import Destination, Source, SourceType
from slicebox_core.models.network import ScpData, ScuData

from .conftest import free_port, network_for


def test_create_list_delete_scp(sb: Slicebox) -> None:
    net = network_for(sb)
    added: list[object] = []
    sb.events.subscribe(SourceAdded, added.append)
    sb.events.subscribe(SourceDeleted, added.append)
    scp = net.create_scp("in", "SLICEBOX", 11112)
    assert scp == ScpData(scp.id, "in", "SLICEBOX", 11112)
    assert net.scps() == [scp]
    assert net.get_scp(scp.id) == scp
    assert Source(SourceType.SCP, "in", scp.id) in sb.system.sources()
    net.delete_scp(scp.id)
    net.delete_scp(scp.id)  # unknown ids are ignored (204)
    assert net.scps() == []
    assert added == [
        SourceAdded(Source(SourceType.SCP, "in", scp.id)),
        SourceDeleted("scp", scp.id),
    ]
    with pytest.raises(NotFound):
        net.get_scp(scp.id)


@pytest.mark.parametrize("port", [-1, 66000])
def test_scp_port_range(sb_sqlite: Slicebox, port: int) -> None:
    with pytest.raises(InvalidInput, match="port"):
        network_for(sb_sqlite).create_scp("in", "AE", port)


@pytest.mark.parametrize("title", ["", "   ", "A" * 17, "  " + "B" * 17, "A\\B", "A\x01B", "Åke"])
def test_scp_ae_title_rules(sb_sqlite: Slicebox, title: str) -> None:
    with pytest.raises(InvalidInput, match="AE title"):
        network_for(sb_sqlite).create_scp("in", title, 11112)


def test_scp_ae_title_is_checked_trimmed_and_stored_as_given(sb_sqlite: Slicebox) -> None:
    scp = network_for(sb_sqlite).create_scp("in", "  " + "A" * 16 + " ", 11112)
    assert scp.ae_title == "  " + "A" * 16 + " "


def test_same_name_returns_existing_without_validation(sb_sqlite: Slicebox) -> None:
    net = network_for(sb_sqlite)
    scp = net.create_scp("in", "AE", 11112)
    assert net.create_scp("in", "A" * 40, -5) == scp
    scu = net.create_scu("out", "AE", "127.0.0.1", 104)
    assert net.create_scu("out", "", "", 99999) == scu


def test_scp_port_used_by_another_scp(sb_sqlite: Slicebox) -> None:
    net = network_for(sb_sqlite)
    net.create_scp("one", "AE1", 11112)
    with pytest.raises(InvalidInput, match="already used"):
        net.create_scp("two", "AE2", 11112)


def test_paging(sb_sqlite: Slicebox) -> None:
    net = network_for(sb_sqlite)
    scps = [net.create_scp(f"s{i}", "AE", 11000 + i) for i in range(5)]
    assert net.scps(start_index=1, count=2) == scps[1:3]
    scus = [net.create_scu(f"u{i}", "AE", "h", 11000 + i) for i in range(3)]
    assert net.scus(start_index=2) == scus[2:]
    with pytest.raises(InvalidInput):
        net.scps(start_index=-1)
    with pytest.raises(InvalidInput):
        net.scus(count=-1)


def test_create_list_delete_scu(sb: Slicebox) -> None:
    net = network_for(sb)
    scu = net.create_scu("pacs", "PACS", "pacs.example.org", 104)
    assert scu == ScuData(scu.id, "pacs", "PACS", "pacs.example.org", 104)
    assert net.scus() == [scu]
    assert sb.system.destinations() == [Destination("scu", "pacs", scu.id)]
    with pytest.raises(InvalidInput, match="already exists"):
        net.create_scu("other", "OTHER", "pacs.example.org", 104)
    net.create_scu("other", "OTHER", "pacs.example.org", 105)
    net.delete_scu(scu.id)
    net.delete_scu(scu.id)
    assert [s.name for s in net.scus()] == ["other"]
    with pytest.raises(NotFound):
        net.get_scu(scu.id)


@pytest.mark.parametrize("port", [-1, 66000])
def test_scu_validations(sb_sqlite: Slicebox, port: int) -> None:
    net = network_for(sb_sqlite)
    with pytest.raises(InvalidInput, match="port"):
        net.create_scu("x", "AE", "h", port)
    with pytest.raises(InvalidInput, match="AE title"):
        net.create_scu("x", "A" * 17, "h", 104)
    for host in (" ", "", "pacs .example.org", "pacs\x00", "Ångström", "h" * 254):
        with pytest.raises(InvalidInput, match="host"):
            net.create_scu("x", "AE", host, 104)
    assert net.create_scu("v6", "AE", "::1", 104).host == "::1"


def test_scu_by_ae_title_compares_trimmed(sb_sqlite: Slicebox) -> None:
    net = network_for(sb_sqlite)
    scu = net.create_scu("x", " DEST ", "h", 104)
    assert net.scu_by_ae_title("DEST") == scu
    assert net.scu_by_ae_title("OTHER") is None


def test_unknown_scu_is_not_found(sb_sqlite: Slicebox) -> None:
    net = network_for(sb_sqlite)
    with pytest.raises(NotFound):
        net.send(42, [1])
    with pytest.raises(NotFound):
        net.echo(42)


def test_unreachable_and_unknown_hosts(sb_sqlite: Slicebox) -> None:
    net = network_for(sb_sqlite)
    refused = net.create_scu("refused", "AE", "127.0.0.1", free_port())
    with pytest.raises(PeerUnavailable, match="Connection refused"):
        net.send(refused.id, [])
    with pytest.raises(PeerUnavailable, match="Connection refused"):
        net.echo(refused.id)
    unknown = net.create_scu("unknown", "AE", "no-such-host.invalid", 104)
    with pytest.raises(PeerUnavailable, match="Unknown host"):
        net.echo(unknown.id)
    assert any("Unable to send" in e.message for e in sb_sqlite.log.list(subject="SCU"))
