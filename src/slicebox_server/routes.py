"""The single URL table: every route the server serves, in the order of the spec (§3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from .resources import (
    anonymization,
    boxes,
    dictionary,
    directorywatches,
    filtering,
    forwarding,
    images,
    imports,
    log,
    metadata,
    network,
    openapi,
    seriestags,
    seriestypes,
    system,
    transactions,
    users,
)
from .resources.base import Resource

if TYPE_CHECKING:
    from slicebox_core import Slicebox

# (falcon URI template, resource class). Field names must agree where templates share a
# prefix (falcon's router requires it): the first id after a collection is always ``id``.
ROUTES: tuple[tuple[str, type[Resource]], ...] = (
    # §3.1 users
    ("/api/users/login", users.Login),
    ("/api/users/logout", users.Logout),
    ("/api/users/current", users.CurrentUser),
    ("/api/users", users.Users),
    ("/api/users/{id:id}", users.UserItem),
    # §3.2 system, sources, destinations, dictionary
    ("/api/system/health", system.Health),
    ("/api/system/information", system.Information),
    ("/api/sources", system.Sources),
    ("/api/destinations", system.Destinations),
    ("/api/dicom/dictionary/keywords", dictionary.Keywords),
    ("/api/dicom/dictionary/keywords/sequence", dictionary.SequenceKeywords),
    ("/api/dicom/dictionary/keywords/nonsequence", dictionary.NonSequenceKeywords),
    ("/api/dicom/dictionary/vr", dictionary.ValueRepresentation),
    ("/api/dicom/dictionary/vm", dictionary.ValueMultiplicity),
    ("/api/dicom/dictionary/keyword", dictionary.Keyword),
    ("/api/dicom/dictionary/tag", dictionary.Tag),
    # §3.3 images
    ("/api/images", images.Images),
    ("/api/images/delete", images.BulkDelete),
    ("/api/images/jpeg", images.Jpeg),
    ("/api/images/export", images.Export),
    ("/api/images/{id:id}", images.ImageItem),
    ("/api/images/{id:id}/attributes", images.Attributes),
    ("/api/images/{id:id}/imageinformation", images.Information),
    ("/api/images/{id:id}/png", images.Png),
    ("/api/images/{id:id}/modify", images.Modify),
    # §3.4 metadata
    ("/api/metadata/patients", metadata.Patients),
    ("/api/metadata/patients/query", metadata.PatientQuery),
    ("/api/metadata/patients/{id:id}", metadata.PatientItem),
    ("/api/metadata/patients/{id:id}/images", metadata.PatientImages),
    ("/api/metadata/studies", metadata.Studies),
    ("/api/metadata/studies/query", metadata.StudyQuery),
    ("/api/metadata/studies/{id:id}", metadata.StudyItem),
    ("/api/metadata/studies/{id:id}/images", metadata.StudyImages),
    ("/api/metadata/series", metadata.SeriesCollection),
    ("/api/metadata/series/query", metadata.SeriesQuery),
    ("/api/metadata/series/{id:id}", metadata.SeriesItem),
    ("/api/metadata/series/{id:id}/source", metadata.SeriesSource),
    ("/api/metadata/series/{id:id}/seriestypes", metadata.SeriesTypesOfSeries),
    ("/api/metadata/series/{id:id}/seriestypes/{type_id:id}", metadata.SeriesTypeOfSeries),
    ("/api/metadata/series/{id:id}/seriestags", metadata.SeriesTagsOfSeries),
    ("/api/metadata/series/{id:id}/seriestags/{tag_id:id}", metadata.SeriesTagOfSeries),
    ("/api/metadata/images", metadata.Images),
    ("/api/metadata/images/query", metadata.ImageQuery),
    ("/api/metadata/images/{id:id}", metadata.ImageItem),
    ("/api/metadata/flatseries", metadata.FlatSeriesCollection),
    ("/api/metadata/flatseries/query", metadata.FlatSeriesQuery),
    ("/api/metadata/flatseries/{id:id}", metadata.FlatSeriesItem),
    # §3.5 series tags
    ("/api/metadata/seriestags", seriestags.SeriesTags),
    ("/api/metadata/seriestags/{id:id}", seriestags.SeriesTagItem),
    # §3.6 series types
    ("/api/seriestypes", seriestypes.SeriesTypes),
    ("/api/seriestypes/rules", seriestypes.Rules),
    ("/api/seriestypes/rules/updatestatus", seriestypes.UpdateStatus),
    ("/api/seriestypes/rules/{id:id}", seriestypes.RuleItem),
    ("/api/seriestypes/rules/{id:id}/attributes", seriestypes.RuleAttributes),
    (
        "/api/seriestypes/rules/{id:id}/attributes/{attribute_id:id}",
        seriestypes.RuleAttributeItem,
    ),
    ("/api/seriestypes/series/query", seriestypes.SeriesQuery),
    ("/api/seriestypes/{id:id}", seriestypes.SeriesTypeItem),
    # §3.8 boxes, §3.9 the box-to-box protocol (token-authenticated, public for the middleware)
    ("/api/boxes", boxes.Boxes),
    ("/api/boxes/createconnection", boxes.CreateConnection),
    ("/api/boxes/connect", boxes.Connect),
    ("/api/boxes/incoming", boxes.Incoming),
    ("/api/boxes/incoming/{id:id}", boxes.IncomingItem),
    ("/api/boxes/incoming/{id:id}/images", boxes.IncomingImages),
    ("/api/boxes/outgoing", boxes.Outgoing),
    ("/api/boxes/outgoing/{id:id}", boxes.OutgoingItem),
    ("/api/boxes/outgoing/{id:id}/images", boxes.OutgoingImages),
    ("/api/boxes/{id:id}", boxes.BoxItem),
    ("/api/boxes/{id:id}/send", boxes.Send),
    ("/api/transactions/{token}/image", transactions.PushedImage),
    ("/api/transactions/{token}/status", transactions.Status),
    ("/api/transactions/{token}/outgoing", transactions.OutgoingImage),
    ("/api/transactions/{token}/outgoing/poll", transactions.Poll),
    ("/api/transactions/{token}/outgoing/done", transactions.Done),
    ("/api/transactions/{token}/outgoing/failed", transactions.Failed),
    # §3.10 SCPs, §3.11 SCUs (echo, find, retrieve: query/retrieve, not in the original)
    ("/api/scps", network.Scps),
    ("/api/scps/{id:id}", network.ScpItem),
    ("/api/scus", network.Scus),
    ("/api/scus/{id:id}", network.ScuItem),
    ("/api/scus/{id:id}/send", network.ScuSend),
    ("/api/scus/{id:id}/echo", network.ScuEcho),
    ("/api/scus/{id:id}/find", network.ScuFind),
    ("/api/scus/{id:id}/retrieve", network.ScuRetrieve),
    # §3.12 directory watches
    ("/api/directorywatches", directorywatches.DirectoryWatches),
    ("/api/directorywatches/{id:id}", directorywatches.DirectoryWatchItem),
    # §3.14 tag filtering
    ("/api/filtering/filters", filtering.Filters),
    ("/api/filtering/filters/{id:id}", filtering.FilterItem),
    ("/api/filtering/filters/{id:id}/tagpaths", filtering.TagPaths),
    ("/api/filtering/filters/{id:id}/tagpaths/{tag_path_id:id}", filtering.TagPathItem),
    ("/api/filtering/associations", filtering.Associations),
    ("/api/filtering/associations/{id:id}", filtering.AssociationItem),
    # §3.15 import sessions
    ("/api/import/sessions", imports.Sessions),
    ("/api/import/sessions/{id:id}", imports.SessionItem),
    ("/api/import/sessions/{id:id}/images", imports.SessionImages),
    # §3.16 log
    ("/api/log", log.Log),
    ("/api/log/{id:id}", log.LogItem),
    # the API described
    ("/api/openapi.json", openapi.OpenApiDocument),
    # §3.3 images: anonymized in place or as a download; §3.7 anonymization
    ("/api/images/{id:id}/anonymize", anonymization.ImageAnonymize),
    ("/api/images/{id:id}/anonymized", anonymization.ImageAnonymized),
    ("/api/anonymization/anonymize", anonymization.BulkAnonymize),
    ("/api/anonymization/options", anonymization.Options),
    ("/api/anonymization/keys", anonymization.Keys),
    ("/api/anonymization/keys/query", anonymization.KeyQuery),
    ("/api/anonymization/keys/export/csv", anonymization.KeysCsv),
    ("/api/anonymization/keys/{id:id}", anonymization.KeyItem),
    ("/api/anonymization/keys/{id:id}/keyvalues", anonymization.KeyValues),
    # §3.13 forwarding rules
    ("/api/forwarding/rules", forwarding.ForwardingRules),
    ("/api/forwarding/rules/{id:id}", forwarding.ForwardingRuleItem),
)


def add_routes(app: falcon.App, sb: Slicebox) -> None:
    """Mount every route of :data:`ROUTES` on ``app``, each resource holding ``sb``."""
    for template, cls in ROUTES:
        app.add_route(template, cls(sb))
