"""SCPs, SCUs and query/retrieve over HTTP (spec §3.10, §3.11): a mixin of the client.

>>> pacs = client.create_scu("pacs", "ORTHANC", "pacs.example.org", 4242)
>>> client.scu_send(pacs.id, [image.id])
>>> studies = client.scu_find(pacs.id, RemoteQuery(attributes={"PatientID": "P1",
...                                                              "StudyInstanceUID": ""}))
>>> client.scu_retrieve(pacs.id, RetrieveRequest((RetrieveTarget(uid),)),
...                     progress=lambda p: print(p.completed, p.remaining))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpx

from slicebox_core import wire
from slicebox_core.errors import PeerUnavailable, SliceboxError
from slicebox_core.models.network import (
    RemoteQuery,
    RetrieveProgress,
    RetrieveRequest,
    RetrieveResult,
    ScpData,
    ScuData,
)

from .errors import error_for_response, transport_error

NDJSON = "application/x-ndjson"

if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    T = TypeVar("T")

    class _Client(Protocol):
        _http: httpx.Client

        def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

        def _json(self, method: str, path: str, cls: Any, **kwargs: Any) -> Any: ...

else:
    _Client = object


class NetworkMixin(_Client):
    """Methods of :class:`~slicebox_client.SliceboxClient` for DICOM nodes."""

    # SCPs (spec §3.10) ---------------------------------------------------------------------
    def scps(self, *, start_index: int = 0, count: int = 20) -> list[ScpData]:
        """The SCPs (DICOM listeners), paged."""
        params = {"startindex": start_index, "count": count}
        return self._json("GET", "/api/scps", list[ScpData], params=params)

    def create_scp(self, name: str, ae_title: str, port: int) -> ScpData:
        """Create an SCP (an existing one with the same name is returned).

        Raises:
            InvalidInput: bad AE title or port, or the port is used by another SCP.
        """
        body = wire.unstructure(ScpData(-1, name, ae_title, port))
        return self._json("POST", "/api/scps", ScpData, json=body)

    def delete_scp(self, scp_id: int) -> None:
        """Delete an SCP (unknown ids are ignored)."""
        self._request("DELETE", f"/api/scps/{scp_id}")

    # SCUs (spec §3.11) ---------------------------------------------------------------------
    def scus(self, *, start_index: int = 0, count: int = 20) -> list[ScuData]:
        """The SCUs (remote DICOM nodes), paged."""
        params = {"startindex": start_index, "count": count}
        return self._json("GET", "/api/scus", list[ScuData], params=params)

    def create_scu(self, name: str, ae_title: str, host: str, port: int) -> ScuData:
        """Create an SCU (an existing one with the same name is returned).

        Raises:
            InvalidInput: bad AE title, host or port, or (host, port) already used.
        """
        body = wire.unstructure(ScuData(-1, name, ae_title, host, port))
        return self._json("POST", "/api/scus", ScuData, json=body)

    def delete_scu(self, scu_id: int) -> None:
        """Delete an SCU (unknown ids are ignored)."""
        self._request("DELETE", f"/api/scus/{scu_id}")

    def scu_send(self, scu_id: int, image_ids: Iterable[int]) -> None:
        """C-STORE images to the node, as stored; returns when all were sent.

        Raises:
            NotFound: unknown SCU.
            PeerUnavailable: the node is unreachable, refuses, or fails an image (502).
        """
        self._request("POST", f"/api/scus/{scu_id}/send", json=[int(i) for i in image_ids])

    def scu_echo(self, scu_id: int) -> None:
        """C-ECHO the node. Raises NotFound, PeerUnavailable."""
        self._request("POST", f"/api/scus/{scu_id}/echo")

    def scu_find(self, scu_id: int, query: RemoteQuery) -> list[dict[str, str]]:
        """C-FIND the node; one ``{keyword: value}`` per match.

        Raises:
            NotFound: unknown SCU.
            InvalidInput: an unknown keyword, or PATIENT level in the Study Root model.
            PeerUnavailable: the node is unreachable or fails the query.
        """
        response = self._request("POST", f"/api/scus/{scu_id}/find", json=wire.unstructure(query))
        return wire.structure(response.json(), list[dict[str, str]])

    def scu_retrieve(
        self,
        scu_id: int,
        request: RetrieveRequest,
        *,
        progress: Callable[[RetrieveProgress], None] | None = None,
    ) -> RetrieveResult:
        """C-MOVE or C-GET studies/series from the node into the server's slicebox.

        Args:
            scu_id: the node.
            request: what to retrieve, and how.
            progress: called with the sub-operation counts while the retrieve runs (the
                answer is then streamed as NDJSON).

        Raises:
            NotFound: unknown SCU.
            InvalidInput: an empty request, or no SCP to C-MOVE to.
            PeerUnavailable: the node is unreachable, does not know the destination, or
                fails the retrieve.
        """
        path = f"/api/scus/{scu_id}/retrieve"
        body = wire.unstructure(request)
        if progress is None:
            return self._json("POST", path, RetrieveResult, json=body)
        try:
            with self._http.stream("POST", path, json=body, headers={"Accept": NDJSON}) as response:
                if response.is_error:
                    response.read()
                    raise error_for_response(response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if "progress" in event:
                        progress(wire.structure(event["progress"], RetrieveProgress))
                    elif "result" in event:
                        return wire.structure(event["result"], RetrieveResult)
                    elif "error" in event:
                        error = event["error"]
                        exc: SliceboxError = (
                            PeerUnavailable(error.get("message", ""))
                            if error.get("status") == 502
                            else SliceboxError(error.get("message", ""))
                        )
                        exc.status = error.get("status")  # type: ignore[attr-defined]
                        raise exc
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        raise PeerUnavailable("the retrieve stream ended without a result")
