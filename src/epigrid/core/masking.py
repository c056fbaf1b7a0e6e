"""Masked display of personal data: what every page and export shows by default."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 李四 -> 李*, 欧阳娜娜 -> 欧**娜."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_document(number: str) -> str:
    """370602199001011234 -> 370602********1234; short numbers keep two characters at each end."""
    number = number or ""
    if len(number) >= 12:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) > 4:
        return number[:2] + "*" * (len(number) - 4) + number[-2:]
    return "*" * len(number)


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    phone = phone or ""
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)
