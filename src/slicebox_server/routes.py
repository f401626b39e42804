"""The single URL table: every route the server serves, in the order of the spec (§3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from .resources import dictionary, images, metadata, openapi, seriestags, system, users
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
    ("/api/images/{id:int}", images.ImageItem),
    ("/api/images/{id:int}/attributes", images.Attributes),
    ("/api/images/{id:int}/imageinformation", images.Information),
    ("/api/images/{id:int}/png", images.Png),
    ("/api/images/{id:int}/modify", images.Modify),
    # §3.4 metadata
    ("/api/metadata/patients", metadata.Patients),
    ("/api/metadata/patients/query", metadata.PatientQuery),
    ("/api/metadata/patients/{id:int}", metadata.PatientItem),
    ("/api/metadata/patients/{id:int}/images", metadata.PatientImages),
    ("/api/metadata/studies", metadata.Studies),
    ("/api/metadata/studies/query", metadata.StudyQuery),
    ("/api/metadata/studies/{id:int}", metadata.StudyItem),
    ("/api/metadata/studies/{id:int}/images", metadata.StudyImages),
    ("/api/metadata/series", metadata.SeriesCollection),
    ("/api/metadata/series/query", metadata.SeriesQuery),
    ("/api/metadata/series/{id:int}", metadata.SeriesItem),
    ("/api/metadata/series/{id:int}/source", metadata.SeriesSource),
    ("/api/metadata/series/{id:int}/seriestypes", metadata.SeriesTypesOfSeries),
    ("/api/metadata/series/{id:int}/seriestypes/{type_id:int}", metadata.SeriesTypeOfSeries),
    ("/api/metadata/series/{id:int}/seriestags", metadata.SeriesTagsOfSeries),
    ("/api/metadata/series/{id:int}/seriestags/{tag_id:int}", metadata.SeriesTagOfSeries),
    ("/api/metadata/images", metadata.Images),
    ("/api/metadata/images/query", metadata.ImageQuery),
    ("/api/metadata/images/{id:int}", metadata.ImageItem),
    ("/api/metadata/flatseries", metadata.FlatSeriesCollection),
    ("/api/metadata/flatseries/query", metadata.FlatSeriesQuery),
    ("/api/metadata/flatseries/{id:int}", metadata.FlatSeriesItem),
    # §3.5 series tags
    ("/api/metadata/seriestags", seriestags.SeriesTags),
    ("/api/metadata/seriestags/{id:int}", seriestags.SeriesTagItem),
    # the API described
    ("/api/openapi.json", openapi.OpenApiDocument),
)


def add_routes(app: falcon.App, sb: Slicebox) -> None:
    """Mount every route of :data:`ROUTES` on ``app``, each resource holding ``sb``."""
    for template, cls in ROUTES:
        app.add_route(template, cls(sb))
