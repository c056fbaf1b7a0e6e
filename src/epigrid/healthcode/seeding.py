"""The default colour rule sets (``seed_rules.json``), attached to the COVID-19 9th-edition policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEED = Path(__file__).resolve().parent / "seed_rules.json"


def default_rule_sets() -> list[dict[str, Any]]:
    """The seed sets with inheritance resolved: ``inherit: i`` copies set i's rules, then ``extra_rules``."""
    sets = json.loads(SEED.read_text(encoding="utf-8"))["sets"]
    resolved: list[dict[str, Any]] = []
    for item in sets:
        base = list(resolved[item["inherit"]]["rules"]) if "inherit" in item else []
        resolved.append(
            {
                "name": item["name"],
                "response_levels": item["response_levels"],
                "rules": base + item.get("rules", []) + item.get("extra_rules", []),
            }
        )
    return resolved


def seed_rule_sets(rule_set_model: Any, policy_model: Any) -> int:
    policy = policy_model.objects.filter(disease__code="covid19", version="9").first()
    if policy is None or rule_set_model.objects.exists():
        return 0
    for item in default_rule_sets():
        rule_set_model.objects.create(policy=policy, is_active=True, **item)
    return len(default_rule_sets())
