"""``epigrid bench ocr``: ID-card OCR speed on one core and field accuracy over generated cards (N=100).

Cards cycle through every variant of :mod:`epigrid.testing.idcard` (clean, rotated ±2-5°, 90/180/270, blurred,
JPEG q15-30, photographed). Each upload goes through :func:`epigrid.testing.ocr.read_id_card` exactly as the
API does (decode, OCR, parsing, retries), timed on the wall clock with onnxruntime on one thread.

Baselines, measured in the same run: for speed, rapidocr with its default settings (detector input scaled up
to a shortest side of 736 px, recognition in batches of 6) on one thread, one pass per image without any
parsing; for accuracy, the exact-ID rate on the clean cards of the set.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import numpy as np

from epigrid.simulation.bench import Metric, _metric
from epigrid.testing import ocr
from epigrid.testing.idcard import VARIANTS, make_card_set

FIELDS = ("id_number", "name", "sex", "ethnicity", "birth_date", "address")


def _default_engine():
    from rapidocr import RapidOCR

    return RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def _truth_value(card, name: str):
    value = getattr(card.truth, name)
    if name == "sex":
        return "M" if value == "男" else "F"
    return value


def bench_ocr(*, scale: int | None) -> list[Metric]:
    n = scale or 100
    cards = make_card_set(n, seed=1000)
    warm = make_card_set(2, seed=900)
    for card in warm:  # model load and first-call allocations are not part of a card's time
        ocr.read_id_card(card.data)

    wall, cpu = [], []
    hits: dict[str, Counter] = defaultdict(Counter)
    per_variant: dict[str, Counter] = defaultdict(Counter)
    passes = Counter()
    for card in cards:
        started, started_cpu = time.perf_counter(), time.process_time()
        result, _ms, _error = ocr.timed_read(card.data)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        per_variant[card.variant]["n"] += 1
        if result is None:
            continue
        passes[result.passes] += 1
        for name in FIELDS:
            ok = getattr(result, name) == _truth_value(card, name)
            hits[name]["ok"] += ok
            per_variant[card.variant][name] += ok

    default = _default_engine()
    default(np.asarray(warm[0].image)[:, :, ::-1].copy())
    base = []
    for card in cards:
        bgr = np.ascontiguousarray(np.asarray(card.image)[:, :, ::-1])
        started = time.perf_counter()
        default(bgr)
        base.append((time.perf_counter() - started) * 1000)

    clean = per_variant["clean"]
    clean_rate = 100 * clean["id_number"] / clean["n"] if clean["n"] else None
    context = {"n": n, "threads": 1}
    out = [
        _metric(
            "ms_per_image_median", float(np.median(wall)), "ms", baseline=float(np.median(base)), **context
        ),
        _metric(
            "ms_per_image_p90",
            float(np.percentile(wall, 90)),
            "ms",
            baseline=float(np.percentile(base, 90)),
            **context,
        ),
        _metric("cpu_ms_per_image_median", float(np.median(cpu)), "ms", **context),
        _metric("id_number_exact", 100 * hits["id_number"]["ok"] / n, "%", baseline=clean_rate, **context),
    ]
    out += [_metric(f"{name}_exact", 100 * hits[name]["ok"] / n, "%", **context) for name in FIELDS[1:]]
    for variant in VARIANTS:
        counts = per_variant[variant]
        if counts["n"]:
            fields_ok = sum(counts[f] for f in FIELDS) / (len(FIELDS) * counts["n"])
            out.append(
                _metric(
                    f"id_number_exact_{variant}",
                    100 * counts["id_number"] / counts["n"],
                    "%",
                    n=counts["n"],
                    all_fields_pct=round(100 * fields_ok, 1),
                )
            )
    out.append(
        _metric("images_needing_retry", sum(v for k, v in passes.items() if k > 1), "images", **context)
    )
    return out
