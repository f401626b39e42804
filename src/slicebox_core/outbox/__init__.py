"""The durable outbox: work rows written in the transaction that caused them, and the worker
that claims and runs them (series-type evaluation now; forwarding later)."""

from .service import Outbox, WorkItem
from .worker import AutomationWorker

__all__ = ["AutomationWorker", "Outbox", "WorkItem"]
