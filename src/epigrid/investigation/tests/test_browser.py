"""The investigation pages in a real browser (Debian's chromium through Playwright): an epidemiologist opens a
case built from check-ins, sees the trajectory on the map, the contacts with their evidence and the chain graph
(ECharts on a canvas), downloads the report PDF, and finds the chain and the epicurve on the chains page."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.urls import reverse

from epigrid.core.tests.factories import TEST_PASSWORD, PersonFactory
from epigrid.investigation import services
from epigrid.investigation.tests.factories import local, old_venue, stay

pytestmark = pytest.mark.browser

# Painted pixels of a canvas: ECharts draws after init, with animation.
PAINTED = """sel => {
  const canvas = document.querySelector(sel);
  if (!canvas || !canvas.width) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) n++;
  return n;
}"""


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto(reverse("core:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(f"**{reverse('core:home')}")


def test_epidemiologist_sees_map_contacts_chain_and_downloads_the_report(
    transactional_db, users, jurisdiction, page, tmp_path: Path
):
    epi = users["epidemiologist"]
    venue = old_venue(jurisdiction.grid_a, name="长江路小馆")
    shop = old_venue(jurisdiction.grid_a, name="黄河路超市", lat=37.53, lng=121.23)
    person, close = PersonFactory(grid=jurisdiction.grid_a), PersonFactory(grid=jurisdiction.grid_a)
    stay(person, venue, local(-2, 12), 60)
    stay(person, shop, local(-2, 15), 30)
    stay(close, venue, local(-2, 12, 10), 40)
    case = services.case_create(actor=epi, person=person, first_positive_at=local(-1, 9))
    onward = services.case_create(
        actor=epi, person=close, first_positive_at=local(0, 0)
    )  # the contact fell ill

    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    sign_in(page, "epidemiologist")
    page.click(f"a[href='{reverse('investigation:case_list')}']")
    page.click(f"a[href='{reverse('investigation:case_detail', args=[case.pk])}']")
    page.locator(f"[data-testid=case-title][data-case='{case.pk}']").wait_for()

    # the trajectory: a numbered marker per place, joined in time order
    markers = page.locator("#trajectory-map .leaflet-marker-icon")
    markers.first.wait_for()
    assert markers.count() == 2
    assert markers.all_inner_texts() == ["1", "2"]
    assert page.locator("#trajectory-map path.leaflet-interactive").count() == 1  # the polyline
    markers.nth(1).click()
    assert "黄河路超市" in page.locator(".leaflet-popup-content").inner_text()

    # the contacts, each with the evidence that made them one
    row = page.locator(f"[data-testid=contact][data-person='{close.pk}']")
    assert row.get_attribute("data-tier") == "close"
    assert close.name_masked in row.inner_text() and close.name not in row.inner_text()
    evidence = row.locator("[data-testid=evidence]")
    assert not evidence.locator("li").first.is_visible()
    evidence.locator("summary").click()
    assert "长江路小馆" in evidence.locator("li").first.inner_text()
    assert row.locator(f"a[href='{reverse('investigation:case_detail', args=[onward.pk])}']").count() == 1

    # the chain graph, drawn on a canvas
    page.locator("#case-chain[data-rendered='1'] canvas").wait_for()
    page.wait_for_function(f"() => ({PAINTED})('#case-chain canvas') > 500")

    # the report
    with page.expect_download() as info:
        page.click("[data-testid=report-pdf]")
    download = info.value
    assert download.suggested_filename == f"case-{case.pk}-report.pdf"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(data))
    assert "流行病学调查报告" in text and f"病例 #{case.pk}" in text and person.name_masked in text
    assert person.id_number not in text

    # the chains page: the chain of two and the epicurve
    page.click(f"a[href='{reverse('investigation:chains')}']")
    page.locator(f"tr[data-chain='{case.pk}'][data-size='2']").wait_for()
    page.locator("#all-chains[data-rendered='1'] canvas").wait_for()
    page.locator("#epicurve[data-rendered='1'] canvas").wait_for()
    page.wait_for_function(f"() => ({PAINTED})('#epicurve canvas') > 500")
    assert errors == []
