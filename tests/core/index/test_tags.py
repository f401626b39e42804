"""Series tags (spec §3.5, §5.8) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from slicebox_core import InvalidInput, NotFound, Slicebox
from tests.factories import dicom_bytes


def test_tag_vocabulary(sb: Slicebox) -> None:
    tags = sb.series_tags
    a = tags.create("alpha")
    b = tags.create("beta")
    with pytest.raises(InvalidInput):
        tags.create("alpha")
    with pytest.raises(InvalidInput):
        tags.create("  ")
    assert [t.name for t in tags.list(order_by="name", order_ascending=False)] == ["beta", "alpha"]
    assert [t.name for t in tags.list(filter="LP")] == ["alpha"]
    assert tags.list(start_index=1, count=1) == [b]
    assert tags.get(a.id) == a
    assert tags.rename(a.id, "gamma").name == "gamma"
    with pytest.raises(InvalidInput):
        tags.rename(a.id, "beta")
    with pytest.raises(NotFound):
        tags.rename(999999, "x")
    with pytest.raises(NotFound):
        tags.get(999999)
    tags.delete(a.id)
    assert tags.list() == [b]


def test_linking_survives_image_deletion(sb: Slicebox) -> None:
    image = sb.images.add(dicom_bytes()).image
    tag = sb.series_tags.tag_series(image.series_id, "keep")
    again = sb.series_tags.tag_series(image.series_id, "keep")
    assert tag == again
    assert sb.series_tags.of_series(image.series_id) == [tag]
    with pytest.raises(NotFound):
        sb.series_tags.tag_series(999999, "x")
    sb.series_tags.untag_series(image.series_id, tag.id)
    assert sb.series_tags.of_series(image.series_id) == []
    sb.series_tags.tag_series(image.series_id, "keep")
    sb.images.delete(image.id)
    assert [t.name for t in sb.series_tags.list()] == ["keep"]  # the vocabulary stays
