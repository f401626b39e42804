"""System, dictionary, user and log values (spec §3.2, §4.9, §4.10, §4.12)."""

from __future__ import annotations

import enum

import attrs


class Role(enum.StrEnum):
    """Roles in order of power: SUPERUSER > ADMINISTRATOR > USER (spec §5.14)."""

    SUPERUSER = "SUPERUSER"
    ADMINISTRATOR = "ADMINISTRATOR"
    USER = "USER"

    @property
    def rank(self) -> int:
        return {"USER": 1, "ADMINISTRATOR": 2, "SUPERUSER": 3}[self.value]

    def includes(self, other: Role) -> bool:
        """True if a user with this role may do what ``other`` may."""
        return self.rank >= other.rank


@attrs.frozen
class UserInfo:
    id: int
    user: str
    role: Role


@attrs.frozen
class ApiUser:
    """A user as listed and created by ``/api/users``: ``{id, user, role}``.

    The original also sent ``hashedPassword`` (the bcrypt hash); slicebox never returns it.
    """

    id: int
    user: str
    role: Role


@attrs.frozen
class ClearTextUser:
    """A new user: ``{user, role, password}`` (role ``USER`` or ``ADMINISTRATOR``)."""

    user: str
    role: Role
    password: str = attrs.field(repr=False)


@attrs.frozen
class SystemInformation:
    version: str


@attrs.frozen
class ExportSetId:
    id: int


@attrs.frozen
class DicomDictionaryKeywords:
    keywords: tuple[str, ...]


@attrs.frozen
class DicomDictionaryKeyword:
    keyword: str


@attrs.frozen
class DicomDictionaryTag:
    tag: int


@attrs.frozen
class DicomValueRepresentation:
    name: str
    code: int


@attrs.frozen
class Multiplicity:
    min: int
    max: int | None = None


class LogEntryType(enum.StrEnum):
    DEFAULT = "DEFAULT"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


@attrs.frozen
class LogEntry:
    id: int
    created: int  # epoch milliseconds, as on the wire
    entry_type: LogEntryType
    subject: str
    message: str
