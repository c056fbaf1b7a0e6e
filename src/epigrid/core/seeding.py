"""Loading rule data (disease profiles and their policy versions) from the files in ``seed/``.

Called by a data migration, so every database — demo, test, production — starts with the same rules.
Re-running it adds what is missing and never overwrites an administrator's edits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEED_DIR = Path(__file__).resolve().parent / "seed"


def load_disease_seed() -> list[dict[str, Any]]:
    return json.loads((SEED_DIR / "diseases.json").read_text(encoding="utf-8"))["diseases"]


def seed_diseases(disease_model: Any, policy_model: Any) -> int:
    """Insert missing profiles and policy versions; models are passed in so migrations can use historical ones."""
    added = 0
    for item in load_disease_seed():
        disease, _ = disease_model.objects.get_or_create(
            code=item["code"], defaults={"name_zh": item["name_zh"], "name_en": item["name_en"]}
        )
        has_active = policy_model.objects.filter(disease=disease, is_active=True).exists()
        for pol in item["policies"]:
            _, created = policy_model.objects.get_or_create(
                disease=disease,
                version=pol["version"],
                defaults={
                    "title": pol["title"],
                    "params": pol["params"],
                    "is_active": bool(pol.get("active")) and not has_active,
                },
            )
            added += int(created)
    return added
