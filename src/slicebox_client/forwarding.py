"""Client methods for forwarding rules (spec §3.13).

A mixin of :class:`~slicebox_client.SliceboxClient`; it uses only the client's ``_json`` and
``_request`` plumbing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from slicebox_core import wire
from slicebox_core.models import Destination, Source
from slicebox_core.models.forwarding import ForwardingRule

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")


class ForwardingMixin:
    """Forwarding rules: every image of a source sent on to a box or an SCU."""

    if TYPE_CHECKING:

        def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

        def _json(self, method: str, path: str, cls: type[T] | Any, **kwargs: Any) -> T: ...

    def forwarding_rules(self, *, start_index: int = 0, count: int = 20) -> list[ForwardingRule]:
        """Forwarding rules by id, paged."""
        params = {"startindex": start_index, "count": count}
        return self._json("GET", "/api/forwarding/rules", list[ForwardingRule], params=params)

    def create_forwarding_rule(
        self, source: Source, destination: Destination, *, keep_images: bool = True
    ) -> ForwardingRule:
        """Forward every image of ``source`` to ``destination`` (ADMINISTRATOR); the existing
        rule for the same source and destination is returned unchanged.

        Raises:
            InvalidInput: an unknown source or destination, or a destination that is not a
                box or an SCU.
        """
        body = wire.unstructure(ForwardingRule(-1, source, destination, keep_images))
        return self._json("POST", "/api/forwarding/rules", ForwardingRule, json=body)

    def delete_forwarding_rule(self, rule_id: int) -> None:
        """Delete a rule and its pending batches (ADMINISTRATOR); the images stay."""
        self._request("DELETE", f"/api/forwarding/rules/{rule_id}")
