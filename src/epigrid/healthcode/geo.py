"""Which venues lie inside a risk area (org unit subtree, or drawn polygon)."""

from __future__ import annotations

from shapely.geometry import Point, shape

from epigrid.healthcode.models import AreaKind, RiskArea


def venues_in_area(area: RiskArea) -> list[int]:
    from epigrid.places.models import Venue

    if area.kind == AreaKind.ORG_UNIT and area.org_unit_id:
        return list(
            Venue.objects.filter(org_code__startswith=area.org_unit.code).values_list("pk", flat=True)
        )
    if area.kind == AreaKind.POLYGON and area.polygon:
        polygon = shape(area.polygon)
        minx, miny, maxx, maxy = polygon.bounds
        candidates = Venue.objects.filter(lng__gte=minx, lng__lte=maxx, lat__gte=miny, lat__lte=maxy)
        return [
            pk
            for pk, lat, lng in candidates.values_list("pk", "lat", "lng")
            if polygon.covers(Point(lng, lat))
        ]
    return []
