"""Read the front of a Chinese resident ID card from a photo: rapidocr (PP-OCR, ONNX, offline) + field parsing.

Pipeline:

1. **Validate the upload** before decoding it: at most :data:`MAX_BYTES`, a format Pillow knows, at most
   :data:`MAX_PIXELS` (read from the header, so a decompression bomb is never decoded). JPEGs are decoded at a
   reduced DCT scale when they are much larger than needed, and EXIF orientation is applied.
2. **OCR** with one rapidocr engine per process, built lazily under a lock, onnxruntime limited to one
   intra-op thread (one core per image; concurrency comes from running images in parallel, not from
   splitting one). Detection runs on the image scaled to a longest side of :data:`DET_SIDE` px and
   recognition one line at a time (no padding of short lines to the longest one in a batch): the two levers
   that brought a card from ~900 to ~480 ms of CPU (docs/benchmarks.md).
3. **Layout.** The card's rotation is estimated from the long text boxes (any angle, modulo 180°) and the
   180° ambiguity resolved by the labels (they are above the ID number). Lines are moved into the upright
   frame and grouped into rows, so a label and its value are found whether OCR merged them into one box
   ("姓名张三") or split them ("姓名", "张三").
4. **Fields** are anchored on the labels 姓名 性别 民族 出生 住址 公民身份号码; the address joins its lines.
   The ID number is the 18-character candidate whose checksum validates, after fixing common OCR confusions
   (O→0, I/l→1, Z→2, S→5, B→8, x→X) only when the fixed number then validates; it is cross-checked against
   the printed birth date and sex.
5. **Retry.** If the first reading is incomplete or inconsistent, the image is turned upright by the
   estimated rotation (or tried at 90/180/270) and read again; the best reading wins.

Text OCR cannot prove a card is genuine: the result is a typing aid for the sampler, who confirms it.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from epigrid.core.errors import DomainError
from epigrid.core.identity import IdentityError, parse_resident_id, ric_check_char

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 25_000_000
WORK_SIDE = 1600  # longest side the image is reduced to before OCR (a card photo needs no more)
DET_SIDE = 640  # longest side the text detector sees

LABELS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")

# Characters OCR reads instead of digits; applied only where the checksum then validates.
_CONFUSIONS = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "|": "1", "i": "1"})
_CONFUSIONS.update(str.maketrans({"Z": "2", "z": "2", "S": "5", "s": "5", "B": "8"}))
_ID_RUN = re.compile(r"[0-9OoQDIl|iZzSsBxX]{15,}")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_DATE_LOOSE = re.compile(r"(\d{4})\D{0,2}?(\d{1,2})\D{1,2}?(\d{1,2})")
_CJK = re.compile(r"[\u3400-\u9fff·]+")
# Cards are printed in simplified characters, but the recogniser sometimes answers with the traditional form
# of a common one (黃 for 黄); these are mapped back in names and addresses.
_SIMPLIFIED = str.maketrans(
    "黃張陳劉趙吳鄭許韓馮鄧蕭葉蘇呂楊孫馬羅謝蔣歐諸偉強軍傑濤剛輝鵬華飛帥寧龍陽國東麗艷紅穎潔區號樓單莊溝灣門鎮縣臺煙島層園長嶺灘濱雲錦寶興豐",
    "黄张陈刘赵吴郑许韩冯邓萧叶苏吕杨孙马罗谢蒋欧诸伟强军杰涛刚辉鹏华飞帅宁龙阳国东丽艳红颖洁区号楼单庄沟湾门镇县台烟岛层园长岭滩滨云锦宝兴丰",
)


class OcrError(DomainError):
    """The upload cannot be read as an ID card; the message says why (API: 400)."""


class NoCardFound(OcrError):
    pass


@dataclass
class IdCardResult:
    name: str | None = None
    sex: str | None = None  # "M" / "F", as the person model stores it
    ethnicity: str | None = None
    birth_date: dt.date | None = None
    address: str | None = None
    id_number: str | None = None
    id_number_valid: bool = False
    confidence: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rotation: int = 0  # degrees the image was turned (counter-clockwise) for the reading that won
    passes: int = 1  # OCR passes it took
    labels_found: int = 0
    texts: list[str] = field(default_factory=list)

    def quality(self) -> int:
        """How complete and consistent the reading is (higher is better); picks between passes."""
        score = 10 * self.id_number_valid + (3 if self.id_number else 0) + self.labels_found
        score += sum(
            getattr(self, f) is not None for f in ("name", "sex", "ethnicity", "birth_date", "address")
        )
        return score - 2 * len([w for w in self.warnings if "differs" in w])

    def complete(self) -> bool:
        return (
            self.id_number_valid
            and all(getattr(self, f) for f in ("name", "sex", "ethnicity", "birth_date", "address"))
            and not any("differs" in w for w in self.warnings)
        )


# --- engine -------------------------------------------------------------------------------------------

_engine: Any = None
_engine_lock = threading.Lock()


def engine() -> Any:
    """The process's rapidocr engine, created on first use (thread-safe; ~1 s to load the models)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                from rapidocr import RapidOCR

                _engine = RapidOCR(
                    params={
                        "Global.log_level": "error",
                        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                        "Det.limit_side_len": DET_SIDE,
                        "Det.limit_type": "max",
                        "Rec.rec_batch_num": 1,
                    }
                )
    return _engine


# --- input --------------------------------------------------------------------------------------------


def load_image(data: bytes) -> Image.Image:
    """Decode an upload into an RGB image of at most WORK_SIDE px, or raise OcrError saying why not."""
    if not data:
        raise OcrError(_("The upload is empty; send a photo of the ID card."))
    if len(data) > MAX_BYTES:
        raise OcrError(
            _("The image is %(mb).1f MB; the limit is %(limit)d MB.")
            % {"mb": len(data) / 1024 / 1024, "limit": MAX_BYTES // 1024 // 1024}
        )
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise OcrError(_("The upload is not an image Pillow can read (send a JPEG or PNG photo).")) from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise OcrError(
            _("The image has %(mp).1f megapixels; the limit is %(limit)d.")
            % {"mp": w * h / 1e6, "limit": MAX_PIXELS // 1_000_000}
        )
    try:
        if img.format == "JPEG" and max(w, h) > 2 * WORK_SIDE:
            img.draft("RGB", (WORK_SIDE, WORK_SIDE))  # decode at 1/2, 1/4 or 1/8 scale: much faster
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        raise OcrError(_("The image is damaged or truncated and cannot be decoded.")) from None
    if max(img.size) > WORK_SIDE:
        img.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
    if min(img.size) < 32:
        raise OcrError(_("The image is too small to hold a readable ID card."))
    return img


# --- layout -------------------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str  # whitespace removed
    score: float
    pts: np.ndarray  # 4x2, image coordinates
    x0: float = 0.0
    x1: float = 0.0
    y0: float = 0.0
    y1: float = 0.0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def _lines(output: Any) -> list[_Line]:
    if output is None or not getattr(output, "txts", None):
        return []
    lines = []
    for text, score, pts in zip(output.txts, output.scores, output.boxes, strict=False):
        clean = re.sub(r"\s+", "", text)
        if clean:
            lines.append(_Line(clean, float(score), np.asarray(pts, dtype=np.float64)))
    return lines


def _text_angle(lines: list[_Line]) -> float:
    """The direction of the text lines in degrees (mod 180), from the long boxes (circular mean)."""
    acc = np.zeros(2)
    for line in lines:
        p = line.pts
        e1, e2 = p[1] - p[0], p[2] - p[1]
        long_edge, short = (e1, e2) if np.hypot(*e1) >= np.hypot(*e2) else (e2, e1)
        length = np.hypot(*long_edge)
        if length < 2.0 * np.hypot(*short):
            continue  # square-ish boxes (single characters) say nothing about direction
        theta = math.atan2(long_edge[1], long_edge[0])
        acc += length * np.array([math.cos(2 * theta), math.sin(2 * theta)])
    if not acc.any():
        return 0.0
    return math.degrees(math.atan2(acc[1], acc[0]) / 2)


def _place(lines: list[_Line], angle: float) -> None:
    """Set each line's upright bounding box after undoing a rotation of ``angle`` degrees."""
    a = math.radians(angle)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    for line in lines:
        p = line.pts @ rot.T
        line.x0, line.y0 = p.min(axis=0)
        line.x1, line.y1 = p.max(axis=0)


def _id_like(text: str) -> bool:
    return bool(_ID_RUN.search(text))


def _upright(lines: list[_Line]) -> float:
    """The rotation (degrees) that makes the card's text horizontal and its labels above the ID number."""
    angle = _text_angle(lines)
    _place(lines, angle)
    label_ys = [ln.cy for ln in lines if any(lab in ln.text for lab in LABELS[:5])]
    id_ys = [ln.cy for ln in lines if _id_like(ln.text) or "公民身份" in ln.text]
    if label_ys and id_ys and np.median(label_ys) > np.median(id_ys):
        angle += 180.0
        _place(lines, angle)
    return angle


def _rows(lines: list[_Line]) -> list[list[_Line]]:
    """Lines grouped into rows (top to bottom), each row left to right."""
    if not lines:
        return []
    typical = float(np.median([ln.height for ln in lines]))
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda ln: ln.cy):
        if rows:
            row = rows[-1]
            row_cy = float(np.mean([r.cy for r in row]))
            if abs(line.cy - row_cy) < 0.5 * max(typical, line.height):
                row.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda ln: ln.x0) for row in rows]


# --- fields -------------------------------------------------------------------------------------------


def _find_label(rows: list[list[_Line]], label: str) -> tuple[int, str, float, float] | None:
    """(row index, text after the label in that row, min score, x where the value starts)."""
    for i, row in enumerate(rows):
        joined = "".join(ln.text for ln in row)
        pos = joined.find(label)
        if pos < 0:
            continue
        after = joined[pos + len(label) :]
        # Where the value starts, in upright x: the first line after the label's line, or inside it.
        consumed, value_x = 0, None
        scores = []
        for ln in row:
            start, end = consumed, consumed + len(ln.text)
            consumed = end
            if end <= pos:
                continue
            scores.append(ln.score)
            if value_x is None:
                label_end = pos + len(label)
                if label_end < end:
                    frac = (label_end - start) / max(1, len(ln.text))
                    value_x = ln.x0 + frac * (ln.x1 - ln.x0)
                elif label_end == end:
                    value_x = ln.x1  # the value is in a later line
        return i, after, min(scores) if scores else 0.0, value_x if value_x is not None else row[-1].x1
    return None


def _id_candidates(text: str) -> list[str]:
    out = []
    for match in _ID_RUN.finditer(text):
        run = match.group()
        if len(run) < 18:
            if len(run) == 15 and run.isdigit():
                out.append(run)
            continue
        out.extend(run[i : i + 18] for i in range(len(run) - 17))
    return out


def _fix_id(candidate: str) -> tuple[str, bool, bool]:
    """(number, valid, corrected): the candidate as read, or with OCR confusions fixed if that validates."""
    try:
        return parse_resident_id(candidate).number, True, False
    except IdentityError:
        pass
    if len(candidate) == 18:
        fixed = candidate[:17].translate(_CONFUSIONS) + candidate[17].translate(_CONFUSIONS).upper()
        if fixed != candidate.upper():
            try:
                return parse_resident_id(fixed).number, True, True
            except IdentityError:
                pass
    return candidate.upper(), False, False


def _read_id(rows: list[list[_Line]], result: IdCardResult) -> None:
    texts = []
    for row in rows:
        texts.extend((ln.text, ln.score) for ln in row)
        if len(row) > 1:  # a number OCR split into two boxes
            texts.append(("".join(ln.text for ln in row), min(ln.score for ln in row)))
    best: tuple[str, bool, bool, float] | None = None
    for text, score in texts:
        for cand in _id_candidates(text):
            number, valid, corrected = _fix_id(cand)
            digits = sum(c.isdigit() for c in number)
            if valid:
                best = (number, True, corrected, score)
                break
            if best is None or (not best[1] and digits > sum(c.isdigit() for c in best[0])):
                best = (number, False, False, score)
        if best and best[1]:
            break
    if best is None:
        return
    number, valid, corrected, score = best
    result.id_number, result.id_number_valid = number, valid
    result.confidence["id_number"] = round(score if valid else min(score, 0.5), 3)
    if corrected:
        result.warnings.append(
            _("ID number: OCR confusions (such as O for 0) corrected; the checksum validates.")
        )
    if not valid:
        try:
            parse_resident_id(number)
        except IdentityError as err:
            result.warnings.append(
                _("ID number %(n)s does not validate: %(why)s") % {"n": number, "why": err}
            )
        if len(number) == 18 and number[:17].isdigit():
            result.warnings.append(
                _("Check character should be %(c)s if the other digits are right.")
                % {"c": ric_check_char(number[:17])}
            )


def _parse_date(text: str) -> dt.date | None:
    norm = text.translate(_CONFUSIONS)
    for pattern in (_DATE, _DATE_LOOSE):
        match = pattern.search(norm)
        if match:
            try:
                return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
    return None


def _parse(lines: list[_Line]) -> IdCardResult:
    result = IdCardResult(texts=[ln.text for ln in lines])
    lines = [ln for ln in lines if not (len(ln.text) == 1 and ln.text.isascii())]  # specks on the portrait
    rows = _rows(lines)
    found = {label: _find_label(rows, label) for label in LABELS}
    result.labels_found = sum(v is not None for v in found.values())
    _read_id(rows, result)

    if hit := found["姓名"]:
        _i, after, score, _x = hit
        name = "".join(_CJK.findall(after.split("性别")[0])).translate(_SIMPLIFIED)
        if name:
            result.name, result.confidence["name"] = name, round(score, 3)
    if hit := found["性别"]:
        _i, after, score, _x = hit
        sex = after[:3].replace("民族", "")
        if "男" in sex or "女" in sex:
            result.sex = "M" if "男" in sex else "F"
            result.confidence["sex"] = round(score, 3)
    if hit := found["民族"]:
        _i, after, score, _x = hit
        ethnicity = "".join(_CJK.findall(after))[:5].translate(_SIMPLIFIED)
        if ethnicity:
            result.ethnicity, result.confidence["ethnicity"] = ethnicity, round(score, 3)
    if hit := found["出生"]:
        _i, after, score, _x = hit
        birth = _parse_date(after)
        if birth:
            result.birth_date, result.confidence["birth_date"] = birth, round(score, 3)
    if hit := found["住址"]:
        _read_address(rows, hit, found["公民身份号码"], result)
    _cross_check(result)
    return result


def _read_address(rows, hit, id_label, result: IdCardResult) -> None:
    i, after, score, value_x = hit
    parts, scores = [after] if after else [], [score]
    row_heights = [ln.height for ln in rows[i]]
    unit = float(np.median(row_heights)) if row_heights else 30.0
    last_y = float(np.mean([ln.cy for ln in rows[i]]))
    stop = id_label[0] if id_label else len(rows)
    for row in rows[i + 1 : stop]:
        cont = [ln for ln in row if abs(ln.x0 - value_x) < 1.5 * unit and not _id_like(ln.text)]
        if not cont or "公民身份" in "".join(ln.text for ln in row):
            break
        cy = float(np.mean([ln.cy for ln in cont]))
        if cy - last_y > 2.6 * unit:
            break
        parts.append("".join(ln.text for ln in cont))
        scores.extend(ln.score for ln in cont)
        last_y = cy
    address = "".join(parts).translate(_SIMPLIFIED)
    if address:
        result.address, result.confidence["address"] = address, round(min(scores), 3)


def _cross_check(result: IdCardResult) -> None:
    if not result.id_number_valid:
        return
    parsed = parse_resident_id(result.id_number)
    if result.birth_date is None:
        result.birth_date = parsed.birth_date
        result.confidence["birth_date"] = result.confidence["id_number"]
        result.warnings.append(_("Birth date not readable on the card; taken from the ID number."))
    elif result.birth_date != parsed.birth_date:
        result.warnings.append(
            _(
                "The printed birth date %(printed)s differs from the ID number's %(id)s; the ID number's is returned."
            )
            % {"printed": result.birth_date.isoformat(), "id": parsed.birth_date.isoformat()}
        )
        result.birth_date = parsed.birth_date
    if result.sex is None:
        result.sex = parsed.sex
        result.confidence["sex"] = result.confidence["id_number"]
        result.warnings.append(_("Sex not readable on the card; taken from the ID number."))
    elif result.sex != parsed.sex:
        result.warnings.append(
            _(
                "The printed sex (%(printed)s) differs from the ID number's (%(id)s); the ID number's is returned."
            )
            % {"printed": result.sex, "id": parsed.sex}
        )
        result.sex = parsed.sex


# --- reading ------------------------------------------------------------------------------------------


def _ocr(bgr: np.ndarray) -> list[_Line]:
    return _lines(engine()(bgr))


def _read(bgr: np.ndarray) -> tuple[IdCardResult, float, list[_Line]]:
    lines = _ocr(bgr)
    angle = _upright(lines)
    return _parse(lines), angle, lines


def _turn(bgr: np.ndarray, degrees: int) -> np.ndarray:
    """The image turned counter-clockwise by a multiple of 90 degrees."""
    return np.ascontiguousarray(np.rot90(bgr, k=(degrees // 90) % 4))


def read_id_card(data: bytes | Image.Image) -> IdCardResult:
    """Read an ID card photo (bytes of an upload, or a PIL image). Raises OcrError / NoCardFound."""
    img = data if isinstance(data, Image.Image) else load_image(data)
    bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
    result, angle, lines = _read(bgr)
    if not lines:
        raise NoCardFound(_("No text found in the image: no ID card."))
    best = result
    if not result.complete() and _worth_retrying(result, lines):
        # The image turned so the card would be upright first, then the remaining quarter turns.
        estimated = round(angle / 90.0) * 90 % 360
        order = [estimated] if estimated else []
        order += [d for d in (90, 270, 180) if d not in order]
        for degrees in order:
            turned, _a, _l = _read(_turn(bgr, degrees))
            turned.rotation = degrees
            turned.passes = best.passes + 1
            if turned.quality() > best.quality():
                best = turned
            else:
                best.passes = turned.passes
            if best.complete():
                break
    if best.labels_found == 0 and best.id_number is None:
        raise NoCardFound(_("No ID card found in the image: none of its labels and no ID number were read."))
    if best.id_number is None:
        best.warnings.append(_("No ID number found on the card."))
    for name in ("name", "sex", "birth_date", "address"):
        if getattr(best, name) is None:
            best.warnings.append(_("Field %(f)s not found.") % {"f": name})
    return best


def _worth_retrying(result: IdCardResult, lines: list[_Line]) -> bool:
    """Another pass can help unless the picture plainly holds upright, confidently read, non-card text."""
    if result.labels_found or result.id_number:
        return True
    tall = sum(1 for ln in lines if np.ptp(ln.pts[:, 1]) > np.ptp(ln.pts[:, 0]))
    confident = float(np.mean([ln.score for ln in lines])) > 0.9
    return tall * 2 > len(lines) or not confident


def timed_read(data: bytes) -> tuple[IdCardResult | None, float, str | None]:
    """(result, wall ms, error message) for benchmarks: one upload, decode included."""
    started = time.perf_counter()
    try:
        result, error = read_id_card(data), None
    except OcrError as err:
        result, error = None, err.message
    return result, (time.perf_counter() - started) * 1000, error
