"""DICOM status codes slicebox answers and understands (PS3.7 Annex C, PS3.4 B.2.3, C.4).

The original always answered a C-STORE with Success, even when storing failed (spec §5.12,
§8). Slicebox tells the sender instead, so that a modality keeps (and retries) what was not
stored:

===========================  ==========  ==================================================
ingest outcome               status      meaning (PS3.4 Table B.2-1)
===========================  ==========  ==================================================
stored                       ``0x0000``  Success
rejected as invalid DICOM    ``0xC000``  Error: Cannot understand (malformed, truncated, or
                                         missing identifying attributes, unaccepted SOP
                                         class or transfer syntax)
storage full / too large     ``0xA700``  Refused: Out of Resources
anything else                ``0x0110``  Processing failure (PS3.7 C.4.2)
===========================  ==========  ==================================================
"""

from __future__ import annotations

from typing import Final

from ..errors import InsufficientStorage, InvalidDicom, PayloadTooLarge

SUCCESS: Final = 0x0000
PENDING: Final = 0xFF00
CANCEL: Final = 0xFE00

# C-STORE (PS3.4 Table B.2-1)
OUT_OF_RESOURCES: Final = 0xA700
DATA_SET_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900
CANNOT_UNDERSTAND: Final = 0xC000
PROCESSING_FAILURE: Final = 0x0110  # PS3.7 C.4.2
COERCION_OF_DATA_ELEMENTS: Final = 0xB000
DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING: Final = 0xB007
ELEMENTS_DISCARDED: Final = 0xB006

# C-FIND / C-MOVE / C-GET (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4)
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900
UNABLE_TO_PROCESS: Final = 0xC000
MOVE_DESTINATION_UNKNOWN: Final = 0xA801
SUB_OPERATIONS_COMPLETE_WITH_FAILURES: Final = 0xB000

# C-STORE warnings a sender treats as stored (spec §5.13 step 4)
STORE_WARNINGS: Final = frozenset(
    {COERCION_OF_DATA_ELEMENTS, DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING, ELEMENTS_DISCARDED}
)


def store_failure_status(exc: BaseException) -> int:
    """The C-STORE response status for an ingest that raised ``exc``."""
    if isinstance(exc, InsufficientStorage | PayloadTooLarge):
        return OUT_OF_RESOURCES
    if isinstance(exc, InvalidDicom):
        return CANNOT_UNDERSTAND
    return PROCESSING_FAILURE


def is_success_or_warning(status: int) -> bool:
    """True for Success and the C-STORE warnings (the instance was stored)."""
    return status == SUCCESS or status in STORE_WARNINGS or 0xB000 <= status <= 0xBFFF
