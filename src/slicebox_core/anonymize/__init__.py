"""De-identification after DICOM PS3.15 Annex E, with pseudonym keys (spec §5.4).

* :func:`anonymize` - the pure engine: a dataset in, a new de-identified dataset out.
* :class:`AnonymizationService` - the engine plus keys: records, harmonizes, reverses.
* :class:`KeyService` - browse, query, export and purge keys (spec §3.7).
* :func:`resolve_profile`, :func:`supported_options` - PS3.15 Table E.1-1 under a profile.
"""

from ..models.anonymization import (
    AnonymizationKey,
    AnonymizationKeyQuery,
    AnonymizationKeyValue,
    AnonymizationProfile,
    ConfidentialityOption,
    KeyLevel,
    TagValue,
)
from .anonymize import anonymize, apply_tag_values, check_burned_in, dummy_value
from .config import AnonymizationConfig, KeyAttribute
from .keys import KeyService
from .profile import is_supported, load_table, resolve_profile, supported_options
from .pseudonyms import is_well_known_uid, keyed_uid_map
from .reverse import restore
from .safe_private import SAFE_PRIVATE_ATTRIBUTES, safe_private_attribute
from .service import AnonymizationService, FolderAnonymization, is_anonymous

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
