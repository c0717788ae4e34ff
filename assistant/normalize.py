"""One written form for every live comment, so the classifier, the caches and the groups see the same text.

`normalize(text)` folds full-width forms to half-width (NFKC), Traditional to Simplified Chinese (OpenCC
`t2s`), case, emoji and runs of repeated characters ("哈哈哈哈" → "哈哈", "？？？" → "?"), and the slang
and homophones viewers type in a hurry (v/vx/薇 → 微信, "99米" → "99元", 咋/啥/肿么, 木有) into plain words.
`screen(text)` says first whether a raw comment is usable at all (empty, binary, invalid UTF-8, too long).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from opencc import OpenCC

MAX_CHARS = 2000  # longer than any platform allows a comment: a flood, not a question
CLASSIFY_CHARS = 200  # what the classifier reads of a long comment; intent sits at the start

@cache
def _converter() -> OpenCC:
    """One shared OpenCC converter, built on first use."""
    return OpenCC("t2s")


def _t2s(text: str) -> str:
    """Traditional → Simplified."""
    return _converter().convert(text)


# Pictographs, dingbats, symbols, variation selectors and zero-width joiners: one "emoji" class.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U00002b00-\U00002bff\U0001f900-\U0001f9ff"
    "\u2190-\u21ff\u2300-\u23ff\u25a0-\u25ff\u3030\u303d\u3297\u3299\ufe0f\ufe0e\u200d\u20e3]+"
)
# Douyin / WeChat sticker codes such as "[赞]", "[捂脸]", "[666]"; kept, but one of a run.
_STICKER_RUN = re.compile(r"(\[[^\[\]\s]{1,6}\])(?:\s*\1)+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200c\u2028\u2029\ufeff]")
_SPACES = re.compile(r"\s+")
# Any character four or more times in a row → twice ("哈哈哈哈" → "哈哈", "6666666" → "666" below).
_REPEAT_CHAR = re.compile(r"(.)\1{2,}")
# A two-character unit repeated three or more times ("哈哈哈哈哈哈" handled above; "冲鸭冲鸭冲鸭" → "冲鸭冲鸭").
_REPEAT_PAIR = re.compile(r"(..)\1{2,}")
_PUNCT_RUN = re.compile(r"([?!.,~。，！？、…])[?!.,~。，！？、…\s]*")

# Slang and homophones, longest first so "有木有" wins over "木有". Word-like rules use lookarounds so
# that "v" inside an English word or a model number ("v8") is left alone.
_SLANG: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r) for p, r in [
        (r"有木有", "有没有"), (r"木有", "没有"), (r"肿么", "怎么"), (r"咋", "怎么"), (r"啥", "什么"),
        (r"神马", "什么"), (r"酱紫", "这样"), (r"稀饭", "喜欢"), (r"童鞋", "同学"), (r"介个", "这个"),
        (r"(?<![a-z])(?:vx|wx|v信|威信|薇信|微心|卫星号|v x)(?![a-z])", "微信"),
        (r"(?<![a-z0-9])v(?=[:：\s]*[a-z0-9_\-]{5,})", "微信"),  # "v: abc123" is a handle, not a model "v8"
        (r"加(?:v|薇|卫|威|维)(?![a-z])", "加微信"),
        (r"(?<![a-z])(?:qq|扣扣|企鹅号)(?![a-z])", "qq"),
        (r"(?<![a-z])yyds(?![a-z])", "永远的神"),
        (r"(?<![a-z])(?:nb|nbcs)(?![a-z])", "牛"),
        (r"(?<![a-z])(?:3q|thx|tks)(?![a-z])", "谢谢"),
        (r"(?<![a-z])(?:pls|plz)(?![a-z])", "please"),
        (r"(?<![a-z])(?:lj|linkk)(?![a-z])", "链接"),
        (r"(?<![a-z])(?:bao you|baoyou)(?![a-z])", "包邮"),
        (r"(?<![a-z])zb(?![a-z])", "主播"),
        (r"(?<![a-z])kd(?![a-z])", "快递"),
        (r"宝贝儿", "宝贝"),
        # Typos of a fast thumb and the pinyin of those who did not switch input methods.
        (r"包游|包油", "包邮"), (r"发伙", "发货"), (r"多绍|多小(?=钱)", "多少"), (r"垃及|拉圾|辣鸡", "垃圾"),
        (r"福带", "福袋"), (r"(?<=[上求发给])连接|连接(?=呢|在哪|发)", "链接"), (r"优惠卷|卷(?=在哪|怎么领)", "优惠券"),
        (r"尺吗|尺玛", "尺码"), (r"(?<=.)(?:咩|伐)(?=[?]?$)", "吗"),
        (r"(?<![a-z])duo ?shao ?qian(?![a-z])", "多少钱"), (r"(?<![a-z])fu ?dai(?![a-z])", "福袋"),
        (r"(?<![a-z])lian ?jie(?![a-z])", "链接"), (r"(?<![a-z])fa ?huo(?![a-z])", "发货"),
        (r"(?<![a-z])tui ?huo(?![a-z])", "退货"), (r"(?<![a-z])tui ?kuan(?![a-z])", "退款"),
        (r"(?<![a-z])hong ?bao(?![a-z])", "红包"),
        (r"(?<![a-z])kuai ?di(?![a-z])", "快递"),
    ]
]
# "99米" / "多少米" are prices in live-room slang; "1米6" (a height) and "2米" (a length) are not.
_PRICE_MI = re.compile(r"(?<![\d.])(\d{2,}(?:\.\d+)?|[3-9](?:\.\d+)?)\s*米(?![\d一二三四五六七八九])")
_HOW_MUCH_MI = re.compile(r"(多少|几)\s*米(?!\d)(?=.*?(?:钱|价|便宜|贵|优惠)|\s*[?]?$)")
_KUAI = re.compile(r"(\d+(?:\.\d+)?)\s*(?:块钱|块|元钱|rmb|¥)")


def _strip_controls(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _fold_emoji(text: str) -> str:
    """Keep one emoji of each run (they carry sentiment) and one sticker code of each run."""
    text = _EMOJI.sub(lambda m: m.group(0)[0] if not unicodedata.category(m.group(0)[0]).startswith("M")
                      else "", text)
    return _STICKER_RUN.sub(r"\1", text)


def _fold_repeats(text: str) -> str:
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _REPEAT_PAIR.sub(r"\1\1", text)

    def fold(m: re.Match[str]) -> str:
        ch = m.group(1)
        # "666…" and "111…" are their own idioms (praise, "I want it"): keep three, the canonical form.
        return ch * 3 if ch in "61" else ch * 2

    return _REPEAT_CHAR.sub(fold, text)


def _slang(text: str) -> str:
    for pattern, replacement in _SLANG:
        text = pattern.sub(replacement, text)
    text = _PRICE_MI.sub(r"\1元", text)
    text = _HOW_MUCH_MI.sub("多少钱", text)
    return _KUAI.sub(r"\1元", text)


@lru_cache(maxsize=65_536)
def normalize(text: str) -> str:
    """The canonical form of a comment: half-width, Simplified, lower-case, emoji, repeats and slang folded."""
    if not text:
        return ""
    text = _strip_controls(text[:MAX_CHARS])
    text = unicodedata.normalize("NFKC", text).lower()
    text = _t2s(text)
    text = _fold_emoji(text)
    text = _fold_repeats(text)
    text = _slang(text)
    text = _SPACES.sub(" ", text).strip()
    # "多少钱!!!" and "多少钱。" ask what "多少钱" asks: one form, one cache entry, one group wording.
    # A trailing "?" stays: it can turn praise ("好看") into a question ("好看?").
    return text.rstrip(" !.,~。，！、…") or text


def screen(raw: object) -> tuple[str, str | None]:
    """Decode a raw comment and say why it is unusable, if it is: `(text, reason or None)`.

    Reasons: "empty", "invalid_utf8", "binary", "too_long", "not_text". Never raises.
    """
    if raw is None:
        return "", "empty"
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(raw).decode("utf-8", errors="replace"), "invalid_utf8"
    elif isinstance(raw, str):
        text = raw
    else:
        return "", "not_text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: what a broken client's invalid UTF-8 becomes in JSON
        return text.encode("utf-8", errors="replace").decode("utf-8"), "invalid_utf8"
    if len(text) > MAX_CHARS:
        return text, "too_long"
    if not text.strip():
        return text, "empty"
    controls = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
                   and ch not in "\t\n\r")
    if "\x00" in text or "\ufffd" in text or controls * 4 > len(text):
        return text, "binary"
    if not _strip_controls(text).strip():
        return text, "empty"
    return text, None
