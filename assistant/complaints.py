"""What a complaint is about: its kind, the product it names (or the one on stage), and its severity.

Kinds are read off keyword cues, checked in a fixed order (authenticity before quality: "假货" is a
distrust of the seller, not a defect; logistics before service: "快递太慢" is about the courier).
Severity follows the issue's levels: 1 one viewer, 2 a quality or safety dispute or a product with
repeated complaints, 3 the same complaint from many distinct viewers within minutes (an incident);
level 3 needs the grouping that `assistant/tickets.py` does, so `severity` takes the counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from assistant.normalize import normalize

KINDS = ("logistics", "quality", "service", "price", "authenticity", "other")
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("authenticity", re.compile(r"假货|假的|高仿|仿品|山寨|正品吗|不是正品|防伪|冒牌|a货|盗版|贴牌|三无|虚假宣传")),
    ("logistics", re.compile(r"快递|物流|发货|到货|没到|还没收到|配送|派送|包装|压扁|压坏|运输|签收|顺丰|中通|圆通|韵达|邮政|慢死")),
    ("price", re.compile(r"贵|价格|降价|差价|割韭菜|韭菜|智商税|虚标|到手价|便宜|坑钱|不值|溢价|涨价|原价")),
    ("service", re.compile(r"客服|主播|助理|态度|不回|没人理|不理|踢|拉黑|控评|删评|直播间|卡顿|卡成|卡死|黑屏|声音|"
                           r"念稿|刷屏|上链接|拖|骗人|骗子|忽悠|托|退不了|不给退|不退|售后")),
    ("quality", re.compile(r"质量|坏|破|烂|裂|断|掉色|褪色|起球|缩水|开线|开胶|脱线|掉|漏|色差|偏小|偏大|异味|味道|臭|"
                           r"难闻|发烫|过敏|烂脸|痘|拉肚子|变质|发霉|过期|不响|没声|不亮|充不进|故障|瑕疵|做工|垃圾|"
                           r"差劲|太差|一次比一次差|不安全|冒烟|爆炸|着火")),
)
# Safety disputes are level 2 on their own: a hurt viewer is never a single ordinary complaint.
_SAFETY = re.compile(r"过敏|烂脸|拉肚子|中毒|发烫|冒烟|爆炸|着火|漏电|烫伤|受伤|不安全|变质|发霉|过期")


class Severity(IntEnum):
    """Ticket levels: 1 ordinary, 2 dispute or repeated, 3 incident."""

    ORDINARY = 1
    DISPUTE = 2
    INCIDENT = 3


@dataclass(frozen=True)
class Complaint:
    """One viewer's complaint as read: kind, product (None when unknown), safety flag and the text."""

    text: str
    kind: str
    product_id: str | None
    safety: bool
    viewer: str = ""
    at: float = 0.0


def complaint_kind(text: str) -> str:
    """The complaint's kind, one of KINDS (`other` when no cue matches)."""
    norm = normalize(text)
    return next((kind for kind, pattern in _CUES if pattern.search(norm)), "other")


def is_safety(text: str) -> bool:
    """True when the complaint reports harm or a hazard (allergy, food poisoning, overheating…)."""
    return bool(_SAFETY.search(normalize(text)))


def read_complaint(text: str, *, named_product: str | None = None, on_stage: str | None = None,
                   viewer: str = "", at: float = 0.0) -> Complaint:
    """Read one complaint: the product it names wins over the one on stage."""
    return Complaint(text=text, kind=complaint_kind(text), product_id=named_product or on_stage,
                     safety=is_safety(text), viewer=viewer, at=at)


def severity(kind: str, *, safety: bool = False, distinct_viewers: int = 1, product_complaints: int = 1,
             incident_viewers: int = 10, repeated_after: int = 3) -> Severity:
    """The level for a group of like complaints: incident by distinct viewers, dispute by kind/safety/repeats."""
    if distinct_viewers >= incident_viewers:
        return Severity.INCIDENT
    if safety or kind in ("quality", "authenticity") or product_complaints >= repeated_after:
        return Severity.DISPUTE
    return Severity.ORDINARY


KINDS_FILE = Path(__file__).resolve().parent / "data" / "complaints" / "kinds.tsv"


def kind_accuracy(path: Path | None = None) -> dict[str, dict[str, float]]:
    """Kind accuracy per split (`dev`, `test`) of a `text<TAB>kind<TAB>split` file (default: the repo's)."""
    counts: dict[str, list[int]] = {}
    for line in Path(path or KINDS_FILE).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, kind, split = line.split("\t")
        hit = counts.setdefault(split, [0, 0])
        hit[0] += complaint_kind(text) == kind
        hit[1] += 1
    return {split: {"accuracy": round(ok / n, 4), "n": n} for split, (ok, n) in counts.items()}
