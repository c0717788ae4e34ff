"""Advertising-law risk in any text CueCard shows or sends, and in scripts a host submits.

Three rules, each a word list in `assistant/data/compliance/` that a shop can extend:
absolute terms (最, 第一, 唯一, 顶级, 国家级, 100%, 零添加, 绝对…), medical and efficacy claims
(for cosmetics and food, and for text of unknown category), and price-comparison claims. A line
is `term<TAB>safer wording` or `re:pattern<TAB>safer wording`; `allow.txt` lists everyday phrases
("最近", "第一次") that only look like a claim. Each finding carries its span, rule and a safer
wording; `rewrite` applies them, and CueCard sends nothing that still has a finding.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import InvalidInputError

DATA_DIR = Path(__file__).parent / "data" / "compliance"
RULE_FILES = {"absolute_term": "absolute.txt", "medical_claim": "medical.txt",
              "price_comparison": "price_comparison.txt"}
# Medical claims are a cosmetics and food rule; other categories (a phone) may say "抗菌" of a case.
MEDICAL_CATEGORIES = frozenset({"beauty", "food", "cosmetics", "health"})


@dataclass(frozen=True)
class Finding:
    """One risky span: `text[start:end] == term`, the rule it breaks, and a safer wording."""

    start: int
    end: int
    term: str
    rule: str
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    rule: str
    suggestion: str


def _read_lines(path: Path) -> list[str]:
    return [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def parse_rules(lines: list[str], rule: str, source: str = "") -> list[_Pattern]:
    """Patterns from word-list lines (`term<TAB>wording` or `re:pattern<TAB>wording`)."""
    out = []
    for n, line in enumerate(lines, 1):
        term, _, suggestion = line.partition("\t")
        term, suggestion = term.strip(), suggestion.strip()
        if not term:
            continue
        try:
            regex = re.compile(term[3:]) if term.startswith("re:") else re.compile(re.escape(term), re.IGNORECASE)
        except re.error as exc:
            raise InvalidInputError(f"{source or rule} line {n}: bad pattern {term!r} ({exc})") from exc
        out.append(_Pattern(regex, rule, suggestion))
    return out


class ComplianceChecker:
    """Finds absolute terms, medical claims and price comparisons, and rewrites them."""

    def __init__(self, patterns: list[_Pattern], allow: list[str] | None = None) -> None:
        self.patterns = patterns
        self.allow = [a for a in (allow or []) if a]

    @classmethod
    def default(cls, extra_dir: Path | str | None = None) -> ComplianceChecker:
        """The word lists shipped in the repo, plus a shop's own files of the same names in `extra_dir`."""
        dirs = [DATA_DIR] + ([Path(extra_dir)] if extra_dir else [])
        patterns: list[_Pattern] = []
        allow: list[str] = []
        for d in dirs:
            for rule, name in RULE_FILES.items():
                if (d / name).is_file():
                    patterns += parse_rules(_read_lines(d / name), rule, source=str(d / name))
            if (d / "allow.txt").is_file():
                allow += [line.strip() for line in _read_lines(d / "allow.txt")]
        return cls(patterns, allow)

    def _allowed_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for phrase in self.allow:
            start = text.find(phrase)
            while start != -1:
                spans.append((start, start + len(phrase)))
                start = text.find(phrase, start + 1)
        return spans

    def check(self, text: str, category: str | None = None) -> list[Finding]:
        """Every risky span in `text`, left to right, none overlapping (the longest wins)."""
        if not isinstance(text, str):
            raise InvalidInputError("compliance check needs a text")
        # NFKC so that full-width "１００％" is caught like "100%"; lengths stay equal for these forms.
        norm = unicodedata.normalize("NFKC", text)
        if len(norm) != len(text):
            norm = text
        allowed = self._allowed_spans(norm)
        medical = category is None or category.lower() in MEDICAL_CATEGORIES
        candidates: list[Finding] = []
        for pat in self.patterns:
            if pat.rule == "medical_claim" and not medical:
                continue
            for m in pat.regex.finditer(norm):
                if m.end() == m.start():
                    continue
                if any(a <= m.start() and m.end() <= b for a, b in allowed):
                    continue
                suggestion = m.expand(pat.suggestion) if "\\" in pat.suggestion else pat.suggestion
                candidates.append(Finding(m.start(), m.end(), text[m.start():m.end()], pat.rule, suggestion))
        candidates.sort(key=lambda f: (f.start, -(f.end - f.start)))
        findings: list[Finding] = []
        for f in candidates:
            if findings and f.start < findings[-1].end:
                continue
            findings.append(f)
        return findings

    def rewrite(self, text: str, category: str | None = None) -> tuple[str, list[Finding]]:
        """`text` with every finding replaced by its safer wording, and the findings that were replaced."""
        findings = self.check(text, category)
        out = text
        for f in reversed(findings):
            out = out[: f.start] + f.suggestion + out[f.end:]
        return out, findings

    def is_clean(self, text: str, category: str | None = None) -> bool:
        """True when the text has no finding."""
        return not self.check(text, category)
