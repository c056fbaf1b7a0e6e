"""What the benchmarks share: a throwaway jurisdiction of their own, and removing it afterwards."""

from __future__ import annotations

from epigrid.core import geo, services
from epigrid.core.models import OrgLevel, OrgUnit


def square(lat: float, lng: float, size: float) -> dict:
    """A GeoJSON square with its south-west corner at (lat, lng)."""
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def bench_jurisdiction(
    code: str, name: str, *, lat: float, lng: float, grids: int = 1
) -> tuple[OrgUnit, list[OrgUnit]]:
    """District ``code`` with one street and one community holding ``grids`` grids side by side (0.02°
    each), through the services; refuses when the code is taken (an earlier run that died)."""
    if OrgUnit.objects.filter(code__startswith=code).exists():
        raise RuntimeError(f"org units under {code} exist already (an earlier run died?); remove them")
    outline = square(lat, lng, 0.02 * max(grids, 1))
    unit = None
    for level, unit_code, unit_name in (
        (OrgLevel.DISTRICT, code, name),
        (OrgLevel.STREET, f"{code}001", "基准街道"),
        (OrgLevel.COMMUNITY, f"{code}001001", "基准社区"),
    ):
        unit = services.orgunit_create(
            actor=None, code=unit_code, level=level, name=unit_name, parent=unit, boundary=outline
        )
    district = OrgUnit.objects.get(code=code)
    cells = [
        services.orgunit_create(
            actor=None,
            code=f"{unit.code}{g:03d}",
            level=OrgLevel.GRID,
            name=f"第{g}网格",
            parent=unit,
            boundary=square(lat + 0.02 * (g - 1), lng, 0.02),
            centroid=(lat + 0.02 * (g - 1) + 0.01, lng + 0.01),
        )
        for g in range(1, grids + 1)
    ]
    return district, cells


def delete_org_units(code: str) -> None:
    """Remove the bench jurisdiction, leaves first (org units protect their children)."""
    for length in (15, 12, 9, 6):
        OrgUnit.objects.filter(code__startswith=code, code__regex=rf"^\d{{{length}}}$").delete()
    geo.invalidate()
