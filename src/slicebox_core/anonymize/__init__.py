"""De-identification after DICOM PS3.15 Annex E, with pseudonym keys (spec §5.4).

* :func:`anonymize` - the pure engine: a dataset in, a new de-identified dataset out.
* :class:`AnonymizationService` - the engine plus keys: records, harmonizes, reverses.
* :class:`KeyService` - browse, query, export and purge keys (spec §3.7).
* :class:`ImageAnonymizer` - stored images anonymized in place or as a download (§5.18.7).
* :func:`resolve_profile`, :func:`supported_options` - PS3.15 Table E.1-1 under a profile.

Only the configuration and the models are imported eagerly, so that
``slicebox_core.config`` can use :class:`AnonymizationConfig` without pulling pydicom or
SQLAlchemy into ``import slicebox_client``; everything else loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..models.anonymization import (
    AnonymizationKey,
    AnonymizationKeyQuery,
    AnonymizationKeyValue,
    AnonymizationProfile,
    ConfidentialityOption,
    KeyLevel,
    TagValue,
)
from .config import AnonymizationConfig, KeyAttribute

if TYPE_CHECKING:
    from .engine import anonymize, apply_tag_values, check_burned_in, dummy_value
    from .images import ImageAnonymizer
    from .keys import KeyService
    from .profile import is_supported, load_table, resolve_profile, supported_options
    from .pseudonyms import is_well_known_uid, keyed_uid_map
    from .reverse import restore
    from .safe_private import SAFE_PRIVATE_ATTRIBUTES, safe_private_attribute
    from .service import AnonymizationService, FolderAnonymization, is_anonymous

_LAZY = {
    "anonymize": "engine",
    "apply_tag_values": "engine",
    "check_burned_in": "engine",
    "dummy_value": "engine",
    "ImageAnonymizer": "images",
    "KeyService": "keys",
    "is_supported": "profile",
    "load_table": "profile",
    "resolve_profile": "profile",
    "supported_options": "profile",
    "is_well_known_uid": "pseudonyms",
    "keyed_uid_map": "pseudonyms",
    "restore": "reverse",
    "SAFE_PRIVATE_ATTRIBUTES": "safe_private",
    "safe_private_attribute": "safe_private",
    "AnonymizationService": "service",
    "FolderAnonymization": "service",
    "is_anonymous": "service",
}

__all__ = [
    "SAFE_PRIVATE_ATTRIBUTES",
    "AnonymizationConfig",
    "AnonymizationKey",
    "AnonymizationKeyQuery",
    "AnonymizationKeyValue",
    "AnonymizationProfile",
    "AnonymizationService",
    "ConfidentialityOption",
    "FolderAnonymization",
    "ImageAnonymizer",
    "KeyAttribute",
    "KeyLevel",
    "KeyService",
    "TagValue",
    "anonymize",
    "apply_tag_values",
    "check_burned_in",
    "dummy_value",
    "is_anonymous",
    "is_supported",
    "is_well_known_uid",
    "keyed_uid_map",
    "load_table",
    "resolve_profile",
    "restore",
    "safe_private_attribute",
    "supported_options",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
