"""URI field converters: ``{id:id}`` is a database id, a 64-bit integer (spec conventions).

falcon's plain ``int`` converter accepts any size; a larger number would reach the database
and fail there. Out of range simply does not match, which is a 404 like any unknown id.
"""

from __future__ import annotations

from falcon.routing import IntConverter

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class IdConverter(IntConverter):
    """An integer within the 64-bit range of database ids."""

    def __init__(self) -> None:
        super().__init__(min=INT64_MIN, max=INT64_MAX)


CONVERTERS = {"id": IdConverter}
