"""What every resource has: the facade, the server limits, and its role/doc declarations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from ..auth import Access
from ..openapi import Operation

if TYPE_CHECKING:
    from slicebox_core import Slicebox


class Resource:
    """Base of all resources.

    Subclasses declare ``roles`` (method -> least role, or ``PUBLIC``; read by the auth
    middleware, missing = 403) and ``docs`` (method -> :class:`~..openapi.Operation`; read
    by the OpenAPI builder and checked against the route table by the tests), and may list
    in ``audited`` the methods besides DELETE whose calls go to the audit log (exports, user
    changes; see :mod:`..audit`).

    Args:
        sb: the slicebox the server fronts.
    """

    roles: ClassVar[Mapping[str, Access]] = {}
    docs: ClassVar[Mapping[str, Operation]] = {}
    audited: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, sb: Slicebox) -> None:
        self.sb = sb
        self.server = sb.config.server
