"""Tag filters: white/black lists of attributes applied on ingest, per source (spec §5.9)."""

from .rules import Step, Tree, apply_filters, tree_from_model, tree_to_model
from .service import TagFilterService

__all__ = [
    "Step",
    "TagFilterService",
    "Tree",
    "apply_filters",
    "tree_from_model",
    "tree_to_model",
]
