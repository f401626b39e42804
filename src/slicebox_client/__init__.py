"""slicebox_client: a typed HTTP client for a slicebox server.

    >>> from slicebox_client import SliceboxClient
    >>> with SliceboxClient("http://127.0.0.1:5000", "admin", "secret") as client:
    ...     image, created = client.upload("CT1.dcm")
    ...     patients = client.patients()

Methods return the core's models (:mod:`slicebox_core.models`) and raise the core's
exceptions (:mod:`slicebox_core.errors`), each with the HTTP ``status`` attached, so the same
code handles a local :class:`~slicebox_core.Slicebox` and a remote one. Importing this
package loads neither SQLAlchemy nor pynetdicom.
"""

from .client import SliceboxClient
from .errors import error_for_response
from .results import UploadResult

__all__ = ["SliceboxClient", "UploadResult", "error_for_response"]
