"""Series types: automatic classification of series by rules (spec §3.6, §5.7)."""

from .rules import Condition, Rule, matching_types
from .service import ALL, SERIES, SeriesTypesChanged, SeriesTypeService

__all__ = [
    "ALL",
    "SERIES",
    "Condition",
    "Rule",
    "SeriesTypeService",
    "SeriesTypesChanged",
    "matching_types",
]
