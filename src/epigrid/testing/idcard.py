"""Synthetic images of the front of a Chinese resident ID card (居民身份证), for OCR tests and the benchmark.

The card is 856x540 pixels (the ISO/IEC 7810 ID-1 format at ~10 px/mm) with a light guilloche background, the
labels 姓名 性别 民族 出生 年 月 日 住址 公民身份号码 in blue, the values in black at the positions of a real
card, and a grey portrait placeholder. Everything is synthetic and deterministic from a seed.

Chinese text is drawn with DroidSansFallbackFull, which has no Latin glyphs, so digits and X are drawn with
reportlab's bundled Vera Bold. Variants imitate what a sampler's phone delivers: slightly or fully rotated,
blurred, JPEG-compressed, or a photograph of the card on a table (perspective, uneven light, sensor noise).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from epigrid.core.identity import compose_resident_id
from epigrid.simulation import names

CARD_SIZE = (856, 540)
VARIANTS = ("clean", "rotated", "rot90", "rot180", "rot270", "blurred", "jpeg", "photo")

_CJK_FONT = Path(__file__).resolve().parent.parent / "core" / "fonts" / "DroidSansFallbackFull.ttf"

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
)
SURNAMES += ["欧阳", "司马", "诸葛", "上官"]
GIVEN_MALE = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志文海峰东")
GIVEN_FEMALE = list("芳娜敏静丽艳娟霞秀英华慧巧美娅玲燕萍红琳雪梅婷倩颖洁佳琪晶妍欣怡")
ETHNICITIES = ["汉"] * 12 + ["回", "满", "蒙古", "壮", "藏", "维吾尔", "苗", "彝", "朝鲜", "土家", "布依"]


@dataclass(frozen=True)
class CardTruth:
    """What is printed on the card: the values an OCR reader should return."""

    name: str
    sex: str  # 男 / 女, as printed
    ethnicity: str
    birth_date: dt.date
    address: str
    id_number: str


@dataclass(frozen=True)
class CardImage:
    truth: CardTruth
    variant: str
    image: Image.Image
    data: bytes  # encoded as the variant would arrive (PNG, or JPEG for jpeg/photo)
    content_type: str


@cache
def _cjk(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_CJK_FONT), size)


@cache
def _latin(size: int) -> ImageFont.FreeTypeFont:
    import reportlab

    return ImageFont.truetype(os.path.join(os.path.dirname(reportlab.__file__), "fonts", "VeraBd.ttf"), size)


def _is_latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-#")


def _draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill) -> float:
    """Draw mixed Chinese/Latin text on a common baseline; returns the x after the last glyph."""
    x, y = xy
    cjk, latin = _cjk(size), _latin(int(size * 0.92))
    baseline = y + cjk.getmetrics()[0]
    for ch in text:
        font = latin if _is_latin(ch) else cjk
        ascent = font.getmetrics()[0]
        draw.text((x, baseline - ascent), ch, font=font, fill=fill)
        x += font.getlength(ch) + (1 if font is latin else 0)
    return x


def _text_width(text: str, size: int) -> float:
    cjk, latin = _cjk(size), _latin(int(size * 0.92))
    return sum((latin.getlength(ch) + 1) if _is_latin(ch) else cjk.getlength(ch) for ch in text)


def random_truth(rng: random.Random) -> CardTruth:
    male = rng.random() < 0.5
    given_pool = GIVEN_MALE if male else GIVEN_FEMALE
    given = "".join(rng.choice(given_pool) for _ in range(rng.choice((1, 2, 2))))
    name = rng.choice(SURNAMES) + given
    birth = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 85))
    codes, weights = names.address_codes_for_year(birth.year)
    code = rng.choices(codes, weights)[0]
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    id_number = compose_resident_id(code, birth, sequence)
    if rng.random() < 0.5:
        street = f"{rng.choice(names.ROADS)}{rng.randint(1, 399)}号"
        unit = f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
        address = f"{names.CITY_PREFIX}{rng.choice(['芝罘区', '福山区', '莱山区', '牟平区'])}{street}{unit}"
    else:
        village = rng.choice(names.VILLAGE_PREFIXES) + rng.choice(names.VILLAGE_SURNAMES)
        village += rng.choice(names.VILLAGE_SUFFIXES)
        town = rng.choice(names.RURAL_STREETS)
        address = f"{names.CITY_PREFIX}福山区{town}{village}{rng.randint(1, 250)}号"
    return CardTruth(
        name=name,
        sex="男" if male else "女",
        ethnicity=rng.choice(ETHNICITIES),
        birth_date=birth,
        address=address,
        id_number=id_number,
    )


def _background(rng: random.Random) -> Image.Image:
    w, h = CARD_SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.empty((h, w, 3), np.float32)
    # A pale blue-to-cream gradient with two families of fine wavy lines (the guilloche).
    t = xx / w
    base[..., 0] = 236 + 10 * t
    base[..., 1] = 240 + 6 * t
    base[..., 2] = 246 - 8 * t
    phase = rng.uniform(0, 6.28)
    waves = np.sin(yy / 9.0 + 3.0 * np.sin(xx / 70.0 + phase)) * np.sin(xx / 11.0 + 2.0 * np.cos(yy / 55.0))
    base -= (np.clip(waves, 0.6, 1.0) - 0.6)[..., None] * np.array([30, 22, 8], np.float32)
    rings = np.sin(np.hypot(xx - w * 0.7, yy - h * 0.45) / 6.0)
    base -= (np.clip(rings, 0.85, 1.0) - 0.85)[..., None] * np.array([40, 30, 20], np.float32)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def _wrap(text: str, size: int, width: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if line and _text_width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    if line:
        lines.append(line)
    return lines


def render_card(truth: CardTruth, rng: random.Random) -> Image.Image:
    """The clean, upright card front (RGB, 856x540)."""
    img = _background(rng)
    draw = ImageDraw.Draw(img)
    label, ink = (40, 110, 190), (20, 20, 20)
    lx, vx = 70, 165
    dy = rng.randint(-4, 4)
    _draw_text(draw, (lx, 62 + dy), "姓  名", 24, label)
    _draw_text(draw, (vx, 56 + dy), truth.name, 32, ink)
    _draw_text(draw, (lx, 128 + dy), "性  别", 24, label)
    _draw_text(draw, (vx, 123 + dy), truth.sex, 28, ink)
    _draw_text(draw, (290, 128 + dy), "民  族", 24, label)
    _draw_text(draw, (380, 123 + dy), truth.ethnicity, 28, ink)
    _draw_text(draw, (lx, 192 + dy), "出  生", 24, label)
    b = truth.birth_date
    x = _draw_text(draw, (vx, 187 + dy), str(b.year), 28, ink)
    x = _draw_text(draw, (x + 10, 190 + dy), "年", 24, label)
    x = _draw_text(draw, (x + 14, 187 + dy), str(b.month), 28, ink)
    x = _draw_text(draw, (x + 10, 190 + dy), "月", 24, label)
    x = _draw_text(draw, (x + 14, 187 + dy), str(b.day), 28, ink)
    _draw_text(draw, (x + 10, 190 + dy), "日", 24, label)
    _draw_text(draw, (lx, 256 + dy), "住  址", 24, label)
    for i, line in enumerate(_wrap(truth.address, 28, 400)):
        _draw_text(draw, (vx, 251 + dy + i * 40), line, 28, ink)
    _draw_text(draw, (lx, 452 + dy), "公民身份号码", 24, label)
    _draw_text(draw, (260, 446 + dy), truth.id_number, 34, ink)
    # Portrait placeholder: a grey box with a head-and-shoulders silhouette.
    px0, py0, px1, py1 = 590, 60, 800, 330
    draw.rectangle((px0, py0, px1, py1), fill=(214, 218, 224), outline=(180, 186, 196), width=2)
    cx = (px0 + px1) // 2
    draw.ellipse((cx - 48, py0 + 50, cx + 48, py0 + 160), fill=(168, 174, 186))
    draw.pieslice((cx - 95, py0 + 165, cx + 95, py1 + 110), 180, 360, fill=(168, 174, 186))
    return img


def _rotate(img: Image.Image, degrees: float, fill=(250, 250, 250)) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def _photo(img: Image.Image, rng: random.Random) -> Image.Image:
    """The card photographed on a table: perspective, a margin of table, uneven light and noise."""
    w, h = img.size
    out_w, out_h = 1200, 900
    table = np.empty((out_h, out_w, 3), np.float32)
    tone = np.array([rng.uniform(90, 140), rng.uniform(80, 120), rng.uniform(60, 100)], np.float32)
    grain = np.random.default_rng(rng.randrange(2**32)).normal(0, 6, (out_h, out_w, 1)).astype(np.float32)
    table[:] = tone + grain
    # Where the card's corners land in the photo: roughly centred, each corner jittered.
    scale = rng.uniform(0.95, 1.15)
    cw, ch = w * scale, h * scale
    ox, oy = (out_w - cw) / 2 + rng.uniform(-60, 60), (out_h - ch) / 2 + rng.uniform(-50, 50)
    j = 0.045 * cw
    dst = [
        (ox + rng.uniform(-j, j), oy + rng.uniform(-j, j)),
        (ox + cw + rng.uniform(-j, j), oy + rng.uniform(-j, j)),
        (ox + cw + rng.uniform(-j, j), oy + ch + rng.uniform(-j, j)),
        (ox + rng.uniform(-j, j), oy + ch + rng.uniform(-j, j)),
    ]
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    coeffs = _perspective_coeffs(dst, src)
    card = img.convert("RGBA").transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC
    )
    photo = Image.fromarray(np.clip(table, 0, 255).astype(np.uint8), "RGB")
    photo.paste(card, (0, 0), card)
    arr = np.asarray(photo).astype(np.float32)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    light = 1.0 + 0.18 * ((xx / out_w - 0.5) * math.cos(angle) + (yy / out_h - 0.5) * math.sin(angle))
    arr = arr * light[..., None] * rng.uniform(0.85, 1.05)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(4, 9), arr.shape)
    arr = np.clip(arr + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))


def _perspective_coeffs(dst, src) -> list[float]:
    """PIL's PERSPECTIVE coefficients mapping output points ``dst`` back to input points ``src``."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for pt in src for c in pt], dtype=np.float64)
    return np.linalg.solve(a, b).tolist()


def _encode(img: Image.Image, fmt: str, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=quality)
    else:
        img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def make_card(seed: int, variant: str = "clean") -> CardImage:
    """Card number ``seed`` in ``variant`` (one of :data:`VARIANTS`). Same seed, same person and image."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    rng = random.Random(f"idcard-{seed}")
    truth = random_truth(rng)
    img = render_card(truth, rng)
    vrng = random.Random(f"idcard-{seed}-{variant}")
    fmt, quality = "PNG", 90
    if variant == "rotated":
        img = _rotate(img, vrng.choice((-1, 1)) * vrng.uniform(2.0, 5.0))
    elif variant in ("rot90", "rot180", "rot270"):
        img = img.rotate(int(variant[3:]), expand=True)
    elif variant == "blurred":
        img = img.filter(ImageFilter.GaussianBlur(vrng.uniform(1.2, 1.8)))
    elif variant == "jpeg":
        fmt, quality = "JPEG", vrng.randint(15, 30)
    elif variant == "photo":
        img = _photo(img, vrng)
        fmt, quality = "JPEG", 85
    data = _encode(img, fmt, quality)
    if fmt == "JPEG":
        img = Image.open(io.BytesIO(data)).convert("RGB")
    return CardImage(truth, variant, img, data, "image/jpeg" if fmt == "JPEG" else "image/png")


def make_card_set(n: int, *, seed: int = 0, variants: tuple[str, ...] = VARIANTS) -> list[CardImage]:
    """``n`` cards cycling through ``variants``, card i from seed ``seed + i``."""
    return [make_card(seed + i, variants[i % len(variants)]) for i in range(n)]


def make_no_card(seed: int = 0) -> bytes:
    """A PNG photo-like picture with no ID card on it: a shop sign over a street scene."""
    rng = random.Random(f"nocard-{seed}")
    w, h = 900, 600
    img = Image.new("RGB", (w, h), (135, 170, 210))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 380, w, h), fill=(110, 110, 105))
    for _ in range(6):
        x0 = rng.randint(0, w - 150)
        y0 = rng.randint(120, 300)
        colour = tuple(rng.randint(120, 220) for _ in range(3))
        draw.rectangle((x0, y0, x0 + rng.randint(80, 200), 380), fill=colour)
    draw.rectangle((180, 60, 720, 150), fill=(170, 30, 30))
    _draw_text(draw, (220, 80), "欢迎光临 便民超市", 48, (255, 240, 200))
    arr = np.asarray(img).astype(np.float32)
    arr += np.random.default_rng(seed).normal(0, 5, arr.shape)
    return _encode(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB"), "PNG")
