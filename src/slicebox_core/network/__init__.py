"""DICOM networking: SCP listeners, SCU associations and query/retrieve (spec §3.10, §3.11,
§5.12, §5.13; PS3.4 A, B, C).

    >>> scp = sb.network.create_scp("in", "SLICEBOX", 11112)
    >>> sb.network.start_listeners()                  # in the one listening process
    >>> pacs = sb.network.create_scu("pacs", "ORTHANC", "pacs.example.org", 4242)
    >>> sb.network.send(pacs.id, [image.id])
    >>> studies = sb.network.find(pacs.id, RemoteQuery(attributes={"PatientID": "P1",
    ...                                                           "StudyInstanceUID": ""}))
    >>> sb.network.retrieve(pacs.id, RetrieveRequest((RetrieveTarget(uid),)))
"""

from .scp import NetworkSettings, Timeouts
from .service import NetworkService

__all__ = ["NetworkService", "NetworkSettings", "Timeouts"]
