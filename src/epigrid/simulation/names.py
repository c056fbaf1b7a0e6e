"""Place names, address parts and identity-number address codes for the synthetic Yantai district.

The names sound like the real Yantai Economic and Technological Development Zone (烟台经济技术开发区) and its
neighbours; the district, its units and everybody in it are synthetic.
"""

from __future__ import annotations

import random

DISTRICT_NAME = "烟台经济技术开发区"
CITY_PREFIX = "山东省烟台市"

# Urban streets (街道) hold residential communities (社区); rural ones hold villages (村).
URBAN_STREETS = ["福莱山街道", "古现街道", "八角街道", "黄务街道", "衙前街道", "长江路街道", "银河街道"]
RURAL_STREETS = ["大季家街道", "潮水镇", "北沟镇", "门楼镇"]

COMMUNITY_STEMS = [
    "金沙滩",
    "长江路",
    "天山路",
    "黄河路",
    "珠江路",
    "泰山路",
    "嵩山路",
    "衡山路",
    "华山路",
    "香港路",
    "海滨",
    "银河",
    "金桥",
    "福海",
    "富民",
    "宁海",
    "海韵",
    "观海",
    "泉水",
    "鑫海",
    "金海湾",
    "松花江",
    "淮河路",
    "昆仑山",
    "五指山",
    "武夷山",
    "太行山",
    "漓江",
    "岷江",
    "开封路",
    "芝罘湾",
    "福源",
    "莱山",
    "古城",
    "海天",
    "世纪",
    "大成",
    "明珠",
    "新城",
    "御龙",
    "桃花岛",
    "书院",
    "星海",
    "阳光",
    "兴华",
]
ROADS = [
    "长江路",
    "黄河路",
    "珠江路",
    "淮河路",
    "天山路",
    "泰山路",
    "华山路",
    "衡山路",
    "嵩山路",
    "昆仑山路",
    "太行山路",
    "五指山路",
    "武夷山路",
    "金沙江路",
    "松花江路",
    "漓江路",
    "岷江路",
    "香港路",
    "北京中路",
    "上海大街",
    "深圳大街",
    "宁波路",
    "青岛大街",
    "海滨路",
    "开封路",
    "重庆大街",
    "秦淮河路",
    "湘江路",
]
COMPOUND_SUFFIXES = ["小区", "花园", "家园", "苑", "公寓", "新村", "嘉园", "雅居"]

VILLAGE_SURNAMES = list("王李张刘孙姜于林曲邹宋杨赵徐郝柳初衣迟滕隋栾丛慕臧鞠战矫乔宫唐吕高崔修贺")
VILLAGE_SUFFIXES = ["家村", "家庄村", "家疃村", "家夼村", "家沟村", "家泊村", "家埠村", "格庄村", "家洼村"]
VILLAGE_PREFIXES = ["", "", "", "东", "西", "南", "北", "上", "下", "大", "小", "前", "后"]

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, 35 -> 三十五 (1..99)."""
    if not 0 < n < 100:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "" if tens == 1 else _DIGITS[tens]
    return head + "十" + (_DIGITS[ones] if ones else "")


def grid_name(n: int) -> str:
    return f"第{chinese_number(n)}网格"


def community_names(rng: random.Random, count: int) -> list[str]:
    stems = rng.sample(COMMUNITY_STEMS, count)
    return [f"{stem}社区" for stem in stems]


def village_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """``count`` distinct Jiaodong-style village names (于家疃村, 北姜家夼村...), not already in ``taken``."""
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(VILLAGE_PREFIXES) + rng.choice(VILLAGE_SURNAMES) + rng.choice(VILLAGE_SUFFIXES)
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def compound_name(rng: random.Random, stem: str) -> str:
    return stem + rng.choice(COMPOUND_SUFFIXES)


# GB 11643 address codes of Yantai, each valid for the birth years in [start, end] (as python-stdnum's
# numdb knows them), with a weight: people living in the development zone were mostly registered in Fushan
# (the zone was carved out of it), Zhifu and Laishan, or before 1983 in the Yantai prefecture (3721xx).
ADDRESS_CODES: list[tuple[str, int, int, int]] = [
    ("372101", 1900, 1982, 4),  # 烟台市 (烟台地区)
    ("372121", 1900, 1982, 6),  # 福山县
    ("372122", 1900, 1982, 2),  # 蓬莱县
    ("372123", 1900, 1982, 1),  # 黄县
    ("372124", 1900, 1982, 1),  # 招远县
    ("372127", 1900, 1982, 1),  # 莱阳县
    ("372128", 1900, 1982, 1),  # 栖霞县
    ("372131", 1900, 1982, 2),  # 牟平县
    ("370602", 1983, 2099, 4),  # 芝罘区
    ("370611", 1983, 2099, 8),  # 福山区
    ("370612", 1994, 2099, 1),  # 牟平区
    ("370613", 1994, 2099, 2),  # 莱山区
    ("370622", 1983, 1990, 1),  # 蓬莱县
    ("370684", 1991, 2019, 1),  # 蓬莱市
    ("370614", 2020, 2099, 1),  # 蓬莱区
    ("370681", 1989, 2099, 1),  # 龙口市
    ("370683", 1989, 2099, 1),  # 莱州市
    ("370685", 1991, 2099, 1),  # 招远市
    ("370686", 1995, 2099, 1),  # 栖霞市
    ("370687", 1996, 2099, 1),  # 海阳市
]

# Reserved for benchmarks: never used for demo residents, so benchmark rows cannot collide with them.
BENCH_ADDRESS_CODE = "370634"  # 长岛县, valid for births 1983-2020


def address_codes_for_year(year: int) -> tuple[list[str], list[int]]:
    pairs = [(code, w) for code, start, end, w in ADDRESS_CODES if start <= year <= end]
    return [c for c, _ in pairs], [w for _, w in pairs]


# Mobile number prefixes of the three carriers (all match ^1[3-9]\d{9}$).
PHONE_PREFIXES = [
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "178",
    "182",
    "183",
    "184",
    "187",
    "188",
    "198",
    "130",
    "131",
    "132",
    "155",
    "156",
    "166",
    "175",
    "176",
    "185",
    "186",
    "133",
    "149",
    "153",
    "173",
    "177",
    "180",
    "181",
    "189",
    "191",
    "199",
]
