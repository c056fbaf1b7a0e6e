"""Point-in-polygon assignment of coordinates to grids (shapely STRtree over grid boundaries)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry import Point, shape

from epigrid.core.models import OrgLevel, OrgUnit


@dataclass
class _Index:
    version: tuple[int, int]
    tree: STRtree
    grid_ids: list[int]
    geoms: list


_lock = threading.Lock()
_index: _Index | None = None


def _version() -> tuple[int, int]:
    grids = OrgUnit.objects.filter(level=OrgLevel.GRID)
    last = grids.order_by("-pk").values_list("pk", flat=True).first() or 0
    return grids.count(), last


def _build() -> _Index:
    ids, geoms = [], []
    for unit_id, boundary in OrgUnit.objects.filter(level=OrgLevel.GRID, boundary__isnull=False).values_list(
        "pk", "boundary"
    ):
        ids.append(unit_id)
        geoms.append(shape(boundary))
    return _Index(_version(), STRtree(geoms), ids, geoms)


def _current_index() -> _Index:
    global _index
    version = _version()
    with _lock:
        if _index is None or _index.version != version:
            _index = _build()
        return _index


def invalidate() -> None:
    """Forget the index (after grids change in a way the version key cannot see, e.g. a rollback)."""
    global _index
    with _lock:
        _index = None


def locate_grid_id(lat: float, lng: float) -> int | None:
    """The pk of the grid containing (lat, lng), or None outside every grid. GeoJSON is (lng, lat)."""
    index = _current_index()
    point = Point(lng, lat)
    for i in index.tree.query(point, predicate="intersects"):
        return index.grid_ids[int(i)]
    return None


def locate_grid(lat: float, lng: float) -> OrgUnit | None:
    grid_id = locate_grid_id(lat, lng)
    return OrgUnit.objects.get(pk=grid_id) if grid_id is not None else None


def locate_many(points: list[tuple[float, float]]) -> list[int | None]:
    """Vectorised assignment for bulk loads: one STRtree query for all points."""
    import numpy as np

    index = _current_index()
    result: list[int | None] = [None] * len(points)
    if not points:
        return result
    geoms = [Point(lng, lat) for lat, lng in points]
    pairs = index.tree.query(geoms, predicate="intersects")
    for point_i, grid_i in np.asarray(pairs).T:
        if result[int(point_i)] is None:
            result[int(point_i)] = index.grid_ids[int(grid_i)]
    return result
