"""Tag filters, their tag paths and source associations; applied on ingest (spec §3.14, §5.9).

:meth:`TagFilterService.preprocess` is an ``ImageService.preprocessors`` hook: it looks up the
filters associated with the ingest's source and, when they remove something, rewrites the
spooled file before it is indexed and stored, so the stored file never holds the filtered
attributes.
"""

from __future__ import annotations

import builtins
import logging
import os
import tempfile
from pathlib import Path

from pydicom import dcmread
from sqlalchemy import delete, select

from ..db.engine import Database
from ..db.tables import SourceTagFilterRow, TagFilterPathRow, TagFilterRow
from ..dicom.parse import Header, read_header
from ..errors import InvalidDicom, InvalidInput, NotFound
from ..events import SourceDeleted
from ..index.query import check_paging
from ..models.filters import (
    SourceTagFilter,
    TagFilter,
    TagFilterTagPath,
    TagFilterType,
    TagTree,
)
from ..models.index import Source, SourceType
from . import rules

log = logging.getLogger(__name__)

NAME_MAX = 180
# values larger than this stay in the file and are copied when the filtered file is written
DEFER_SIZE = 256 * 1024


def _filter(row: TagFilterRow) -> TagFilter:
    return TagFilter(row.id, row.name, TagFilterType(row.tagfiltertype))


def _association(row: SourceTagFilterRow) -> SourceTagFilter:
    return SourceTagFilter(
        id=row.id,
        source_type=SourceType(row.sourcetype),
        source_name=row.sourcename,
        source_id=row.sourceid,
        tag_filter_id=row.tagfilterid,
        tag_filter_name=row.tagfiltername,
    )


def _tag_path(row: TagFilterPathRow) -> TagFilterTagPath:
    return TagFilterTagPath(
        row.id, row.tagfilterid, rules.tree_to_model(rules.tree_from_text(row.tagpath))
    )


class TagFilterService:
    """Create filters, list their tag trees, associate them with sources; filter on ingest."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # filters --------------------------------------------------------------------------------
    def list(self, *, start_index: int = 0, count: int = 20) -> builtins.list[TagFilter]:
        """Filters by id, paged. Raises InvalidInput for negative paging."""
        check_paging(start_index, count)
        stmt = select(TagFilterRow).order_by(TagFilterRow.id).offset(start_index).limit(count)
        with self._db.read() as session:
            return [_filter(row) for row in session.scalars(stmt)]

    def get(self, filter_id: int) -> TagFilter:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(TagFilterRow, filter_id)
        if row is None:
            raise NotFound(f"Tag filter not found: {filter_id}")
        return _filter(row)

    def create(self, name: str, tag_filter_type: TagFilterType | str) -> TagFilter:
        """Create a filter (duplicate names are allowed, as in the original).

        Raises:
            InvalidInput: an empty or too long name, or an unknown type.
        """
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > NAME_MAX:
            raise InvalidInput(f"A tag filter needs a name of 1..{NAME_MAX} characters")
        try:
            kind = TagFilterType(tag_filter_type)
        except ValueError:
            raise InvalidInput(
                f"tagFilterType must be WHITELIST or BLACKLIST, got {tag_filter_type!r}"
            ) from None
        with self._db.write() as session:
            row = TagFilterRow(name=name, tagfiltertype=kind.value)
            session.add(row)
            session.flush()
            return _filter(row)

    def delete(self, filter_id: int) -> None:
        """Delete a filter with its tag paths and source associations (unknown id: no-op)."""
        with self._db.write() as session:
            session.execute(delete(TagFilterRow).where(TagFilterRow.id == filter_id))

    # tag paths --------------------------------------------------------------------------------
    def tag_paths(
        self, filter_id: int, *, start_index: int = 0, count: int = 20
    ) -> builtins.list[TagFilterTagPath]:
        """The trees of a filter, paged ([] for an unknown filter)."""
        check_paging(start_index, count)
        stmt = (
            select(TagFilterPathRow)
            .where(TagFilterPathRow.tagfilterid == filter_id)
            .order_by(TagFilterPathRow.id)
            .offset(start_index)
            .limit(count)
        )
        with self._db.read() as session:
            return [_tag_path(row) for row in session.scalars(stmt)]

    def add_tag_path(self, filter_id: int, tree: TagTree) -> TagFilterTagPath:
        """Add a tree to a filter (duplicates allowed). Keywords are resolved and checked.

        Raises:
            NotFound: unknown filter.
            InvalidInput: an unknown keyword without tag, a bad item, ... (see
                :func:`~.rules.tree_from_model`).
        """
        parsed = rules.tree_from_model(tree)
        with self._db.write() as session:
            if session.get(TagFilterRow, filter_id) is None:
                raise NotFound(f"Tag filter not found: {filter_id}")
            row = TagFilterPathRow(tagfilterid=filter_id, tagpath=rules.tree_to_text(parsed))
            session.add(row)
            session.flush()
            return TagFilterTagPath(row.id, filter_id, rules.tree_to_model(parsed))

    def delete_tag_path(self, filter_id: int, tag_path_id: int) -> None:
        """Remove a tree from a filter (unknown ids: no-op)."""
        with self._db.write() as session:
            session.execute(
                delete(TagFilterPathRow).where(
                    TagFilterPathRow.id == tag_path_id,
                    TagFilterPathRow.tagfilterid == filter_id,
                )
            )

    # associations -----------------------------------------------------------------------------
    def associations(
        self, *, start_index: int = 0, count: int = 20
    ) -> builtins.list[SourceTagFilter]:
        """Source-filter associations by id, paged."""
        check_paging(start_index, count)
        stmt = (
            select(SourceTagFilterRow)
            .order_by(SourceTagFilterRow.id)
            .offset(start_index)
            .limit(count)
        )
        with self._db.read() as session:
            return [_association(row) for row in session.scalars(stmt)]

    def associate(self, source: Source, filter_id: int) -> SourceTagFilter:
        """Apply a filter to everything ingested from ``source`` from now on.

        Always inserts (a source may have several filters, as in the original).

        Raises:
            NotFound: unknown filter.
        """
        with self._db.write() as session:
            found = session.get(TagFilterRow, filter_id)
            if found is None:
                raise NotFound(f"Tag filter not found: {filter_id}")
            row = SourceTagFilterRow(
                sourcetype=source.source_type.value,
                sourcename=source.source_name,
                sourceid=source.source_id,
                tagfilterid=filter_id,
                tagfiltername=found.name,
            )
            session.add(row)
            session.flush()
            return _association(row)

    def delete_association(self, association_id: int) -> None:
        """Remove an association (unknown id: no-op)."""
        with self._db.write() as session:
            session.execute(
                delete(SourceTagFilterRow).where(SourceTagFilterRow.id == association_id)
            )

    def on_source_deleted(self, event: SourceDeleted) -> None:
        """``SourceDeleted`` subscriber: drop that source's associations (spec §5.9)."""
        with self._db.write() as session:
            session.execute(
                delete(SourceTagFilterRow).where(
                    SourceTagFilterRow.sourcetype == str(event.source_type),
                    SourceTagFilterRow.sourceid == event.source_id,
                )
            )

    # applying ---------------------------------------------------------------------------------
    def trees_for(
        self, source: Source
    ) -> tuple[builtins.list[rules.Tree], builtins.list[rules.Tree]]:
        """(blacklist, whitelist): the union of the trees of the source's filters."""
        stmt = (
            select(TagFilterRow.tagfiltertype, TagFilterPathRow.tagpath)
            .join(SourceTagFilterRow, SourceTagFilterRow.tagfilterid == TagFilterRow.id)
            .join(TagFilterPathRow, TagFilterPathRow.tagfilterid == TagFilterRow.id)
            .where(
                SourceTagFilterRow.sourcetype == source.source_type.value,
                SourceTagFilterRow.sourceid == source.source_id,
            )
            .order_by(TagFilterPathRow.id)
        )
        with self._db.read() as own:
            rows = own.execute(stmt).all()
        black: builtins.list[rules.Tree] = []
        white: builtins.list[rules.Tree] = []
        for kind, text in rows:
            try:
                tree = rules.tree_from_text(text)
            except ValueError:
                log.error("tag path %r of a filter cannot be parsed; ignored", text)
                continue
            (white if kind == TagFilterType.WHITELIST.value else black).append(tree)
        return black, white

    def preprocess(self, path: Path, header: Header, source: Source) -> Header | None:
        """``ImageService.preprocessors`` hook: apply the source's filters to the spooled file.

        Returns:
            The new header when the file was rewritten, None when nothing was filtered.

        Raises:
            InvalidDicom: the filtered data lacks what every instance needs (e.g. a whitelist
                without SOPInstanceUID).
        """
        black, white = self.trees_for(source)
        if not black and not white:
            return None
        ds = dcmread(path, defer_size=DEFER_SIZE)
        if not rules.apply_filters(ds, black, white):
            return None
        fd, name = tempfile.mkstemp(prefix="tmp-filtered-", dir=path.parent)
        os.close(fd)
        filtered = Path(name)
        try:
            ds.save_as(filtered, enforce_file_format=True)
            del ds  # deferred values were read from ``path``; release it before replacing
            os.replace(filtered, path)
        except BaseException:
            filtered.unlink(missing_ok=True)
            raise
        try:
            return read_header(
                path,
                sop_classes={header.sop_class_uid},
                transfer_syntaxes={header.transfer_syntax_uid},
            )
        except InvalidDicom as exc:
            reason = exc.message.removeprefix("Invalid DICOM data: ")
            raise InvalidDicom(f"after the tag filters of the source: {reason}") from None
