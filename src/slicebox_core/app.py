"""The :class:`Slicebox` facade: the whole system as one object.

    >>> from slicebox_core import Slicebox
    >>> sb = Slicebox.open("slicebox-data")              # SQLite + local folder
    >>> result = sb.images.add("CT1.dcm")                 # path, bytes or binary stream
    >>> [p.patient_name for p in sb.index.patients()]
    >>> png = sb.images.png(result.image.id, height=256)

The server is a thin shell over this object and the client mirrors its methods over HTTP.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from .anonymize.images import ImageAnonymizer
from .anonymize.service import AnonymizationService
from .boxes.service import BoxService
from .boxes.worker import BoxWorker
from .config import Config, load_config
from .db.engine import Database
from .db.migrate import upgrade
from .events import EventBus, ImagesDeleted, SourceDeleted
from .filters.service import TagFilterService
from .forwarding.service import ForwardingService
from .forwarding.worker import ForwardingWorker
from .images.exports import ExportService
from .images.service import ImageService
from .imports.service import ImportService
from .index.service import IndexService
from .index.tags import SeriesTagService
from .log.service import LogService
from .network import NetworkService
from .outbox import AutomationWorker, Outbox
from .seriestypes.service import SeriesTypeService
from .storage.base import Storage, open_storage
from .system import SystemService
from .users.service import UserService
from .watch.service import DirectoryWatchService, WatchOptions
from .worker import BackgroundTask, PeriodicTask


class Slicebox:
    """One slicebox: index, storage and the services over them.

    Args:
        config: the configuration; see :meth:`open` for the common cases.
        migrate: bring the index schema up to date on open (default True).
    """

    def __init__(self, config: Config, *, migrate: bool = True) -> None:
        self.config = config
        os.makedirs(config.data_dir, exist_ok=True)
        self.db = Database(
            config.database_url, pool_size=config.database.pool_size, echo=config.database.echo
        )
        if migrate:
            upgrade(self.db)
        self.storage: Storage = open_storage(config)
        self.events = EventBus()
        self.log = LogService(self.db)
        self.index = IndexService(self.db)
        self.series_tags = SeriesTagService(self.db)
        self.images = ImageService(self.db, self.storage, self.events, config)
        self.exports = ExportService(self.db, self.storage, self.index)
        self.users = UserService(self.db, config, events=self.events, log=self.log)
        self.system = SystemService(self.db, config)
        self.anonymization = AnonymizationService(self.db, config=config.anonymization)
        self.images.reverser = self.anonymization.reverse
        self.image_anonymizer = ImageAnonymizer(self.images, self.anonymization)
        self.events.subscribe(
            ImagesDeleted, lambda e: self.anonymization.keys.on_images_deleted(e.image_ids)
        )
        self.background_tasks: list[BackgroundTask] = [
            PeriodicTask("orphan sweeper", 3600, self.images.sweep_orphans),
            PeriodicTask("session purge", 3600, self.users.purge_expired_sessions),
        ]
        # automation (spec §5.7-§5.11): durable work rows written in the ingest transaction
        self.outbox = Outbox(self.db)
        self.series_types = SeriesTypeService(self.db, self.images, self.outbox, self.events)
        self.tag_filters = TagFilterService(self.db)
        self.imports = ImportService(self.db, self.images, self.log, self.events)
        self.watches = DirectoryWatchService(
            self.db,
            self.images,
            self.log,
            self.events,
            options=WatchOptions(**attrs.asdict(config.watch)),
            protected=(config.data_dir, str(config.storage_path)),
        )
        self.images.preprocessors.append(self.tag_filters.preprocess)  # reverse runs after
        self.images.in_transaction.append(self.series_types.enqueue_for_ingest)
        self.images.in_transaction.append(self.imports.record)
        self.events.subscribe(SourceDeleted, self.tag_filters.on_source_deleted)
        self.system.source_providers += [self.watches.sources, self.imports.sources]
        self.background_tasks.append(AutomationWorker(self))
        # DICOM networking (spec §5.12-§5.13): SCPs are sources, SCUs destinations
        self.network = NetworkService(
            self.db, self.images, self.index, self.log, config, events=self.events,
            system=self.system,
        )  # fmt: skip
        self.background_tasks.append(self.network.listener_task())
        # boxes (spec §5.5): transfer state in the index; the HTTP peer is injected by the
        # server's worker command (core never imports an HTTP client)
        self.boxes = BoxService(
            self.db, self.images, self.anonymization, self.log, self.events, config=config.boxes
        )
        self.images.in_transaction.append(self.boxes.record_received)
        self.events.subscribe(ImagesDeleted, lambda e: self.boxes.on_images_deleted(e.image_ids))
        self.system.source_providers.insert(1, self.boxes.sources)  # spec order: users, boxes
        self.system.destination_providers.append(self.boxes.destinations)
        self.background_tasks.append(BoxWorker(self.boxes))
        # forwarding (spec §5.6): batches are rows written in the ingest transaction
        self.forwarding = ForwardingService(
            self.db, self.images, self.log, boxes=self.boxes, network=self.network,
            system=self.system, config=config.forwarding,
        )  # fmt: skip
        self.images.in_transaction.append(self.forwarding.enqueue_for_ingest)
        self.background_tasks.append(ForwardingWorker(self.forwarding, self.events))

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str] = "slicebox-data",
        *,
        database_url: str | None = None,
        storage: dict[str, Any] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        environ: dict[str, str] | None = None,
    ) -> Slicebox:
        """Open (creating if needed) a slicebox.

        Args:
            data_dir: the embedded default's folder (SQLite file, ``dicom/`` folder).
            database_url: an SQLAlchemy URL instead of the SQLite file, e.g.
                ``postgresql+psycopg://user@host/db``.
            storage: a storage table instead of the local folder, e.g.
                ``{"kind": "s3", "bucket": "b", "endpoint_url": "http://127.0.0.1:9000"}``.
            config_file: an optional TOML file read before the arguments.
            environ: environment to read ``SLICEBOX_*`` from (default: none, so a notebook
                is not surprised by its shell; the server passes ``os.environ``).

        Raises:
            InvalidInput: a bad configuration value.
        """
        overrides: dict[str, Any] = {"data_dir": str(data_dir)}
        if database_url:
            overrides["database.url"] = database_url
        if storage:
            for key, value in storage.items():
                overrides[f"storage.{key}"] = value
        return cls(load_config(config_file, environ or {}, overrides=overrides))

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    def __enter__(self) -> Slicebox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
