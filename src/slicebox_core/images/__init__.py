"""Stored DICOM instances: ingest, read, render, modify, export, delete."""

from .service import ImageService

__all__ = ["ImageService"]
