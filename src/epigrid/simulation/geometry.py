"""Plane geometry for the synthetic district: an irregular outline cut into nested Voronoi cells.

Coordinates are WGS84 degrees in GeoJSON order (x = longitude, y = latitude). The outline is convex, so
every Voronoi cell clipped to it (and every cell of a cell) is a single convex polygon: the tree of units
is an exact partition at every level, with no slivers or multi-part units to repair.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon

# Degrees per kilometre near 37.5 N.
KM_LAT = 1 / 111.0
KM_LNG = 1 / (111.32 * math.cos(math.radians(37.55)))


def district_outline(
    rng: np.random.Generator, *, lat: float, lng: float, width_km: float, height_km: float
) -> Polygon:
    """A convex but irregular outline about ``width_km`` x ``height_km`` around (lat, lng)."""
    n = 26
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    # Smooth radial wobble (two low harmonics) plus a little per-vertex noise.
    phase = rng.uniform(0, 2 * math.pi, 2)
    wobble = 1 + 0.10 * np.sin(2 * angles + phase[0]) + 0.06 * np.sin(3 * angles + phase[1])
    radius = wobble * rng.uniform(0.93, 1.05, n)
    xs = lng + np.cos(angles) * radius * (width_km / 2) * KM_LNG
    ys = lat + np.sin(angles) * radius * (height_km / 2) * KM_LAT
    return MultiPoint(np.column_stack([xs, ys])).convex_hull


def random_points_in(polygon: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points drawn uniformly inside ``polygon`` (rejection sampling, vectorised); shape (n, 2)."""
    if n <= 0:
        return np.empty((0, 2))
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    have = 0
    ratio = max(polygon.area / ((maxx - minx) * (maxy - miny)), 0.05)
    while have < n:
        m = int((n - have) / ratio * 1.3) + 8
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        inside = shapely.contains_xy(polygon, xs, ys)
        pts = np.column_stack([xs[inside], ys[inside]])
        found.append(pts)
        have += len(pts)
    return np.concatenate(found)[:n]


def _as_polygon(geom: shapely.Geometry) -> Polygon:
    if isinstance(geom, Polygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    return max(parts, key=lambda g: g.area)


def partition(container: Polygon, n: int, rng: np.random.Generator, *, relax: int = 2) -> list[Polygon]:
    """Cut ``container`` into ``n`` Voronoi cells of seeded points, smoothed by ``relax`` Lloyd steps.

    Cells are returned in reading order (north to south in bands, then west to east) so that codes and
    names follow the map.
    """
    if n <= 1:
        return [container]
    points = random_points_in(container, n, rng)
    cells: list[Polygon] = []
    for step in range(relax + 1):
        diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=container, ordered=True)
        cells = [_as_polygon(cell.intersection(container)) for cell in diagram.geoms]
        if step < relax:
            points = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    band = (container.bounds[3] - container.bounds[1]) / max(1, round(math.sqrt(n)))

    def reading_order(cell: Polygon) -> tuple[int, float]:
        c = cell.centroid
        return int((container.bounds[3] - c.y) // band), c.x

    return sorted(cells, key=reading_order)


def geojson(polygon: Polygon) -> dict:
    """GeoJSON Polygon with plain lists (what a JSONField stores and returns)."""
    rings = [polygon.exterior, *polygon.interiors]
    return {"type": "Polygon", "coordinates": [[[x, y] for x, y in ring.coords] for ring in rings]}


def inner_area(polygon: Polygon, inset_deg: float) -> Polygon:
    """``polygon`` shrunk by ``inset_deg`` where that leaves something, else the polygon itself.

    Homes are placed a few metres inside their grid so that rounding the coordinates cannot push a home
    across a boundary into the next grid.
    """
    inner = polygon.buffer(-inset_deg)
    return _as_polygon(inner) if not inner.is_empty and inner.area > polygon.area * 0.2 else polygon
