"""DICOM reading, validation, rendering and editing on pydicom datasets and files."""
