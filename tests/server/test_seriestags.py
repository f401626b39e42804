"""§3.5 the series-tag vocabulary."""

from __future__ import annotations

import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_core.errors import InvalidInput, NotFound


def test_crud(client: SliceboxClient) -> None:
    tag = client.create_series_tag("first")
    assert tag.name == "first" and tag.id > 0
    assert client.get_series_tag(tag.id) == tag
    renamed = client.rename_series_tag(tag.id, "renamed")
    assert renamed.id == tag.id and renamed.name == "renamed"
    client.create_series_tag("second")
    assert [t.name for t in client.series_tags(order_by="name")] == ["renamed", "second"]
    assert [t.name for t in client.series_tags(filter="SEC")] == ["second"]
    assert [t.name for t in client.series_tags(order_by="name", order_ascending=False)] == [
        "second",
        "renamed",
    ]
    assert len(client.series_tags(start_index=1, count=5)) == 1
    client.delete_series_tag(tag.id)
    with pytest.raises(NotFound):
        client.get_series_tag(tag.id)


def test_unknown_tag_is_404_not_500(client: SliceboxClient) -> None:
    with pytest.raises(NotFound):
        client.get_series_tag(4711)
    with pytest.raises(NotFound):
        client.rename_series_tag(4711, "x")


def test_duplicate_name_is_400(client: SliceboxClient) -> None:
    client.create_series_tag("dup")
    with pytest.raises(InvalidInput) as info:
        client.create_series_tag("dup")
    assert info.value.status == 400  # type: ignore[attr-defined]


def test_put_uses_the_path_id(client: SliceboxClient, http: httpx.Client) -> None:
    a = client.create_series_tag("a")
    b = client.create_series_tag("b")
    response = http.put(f"/api/metadata/seriestags/{a.id}", json={"id": b.id, "name": "a2"})
    assert response.status_code == 200
    assert response.json() == {"id": a.id, "name": "a2"}
    assert client.get_series_tag(b.id).name == "b"


def test_post_returns_201(http: httpx.Client) -> None:
    response = http.post("/api/metadata/seriestags", json={"id": -1, "name": "new"})
    assert response.status_code == 201
    assert response.json()["name"] == "new"
