"""Compliance: absolute terms, medical claims and price comparisons, with spans and safer wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.compliance import ComplianceChecker, Finding, parse_rules
from knowledge.errors import InvalidInputError


@pytest.fixture(scope="module")
def checker() -> ComplianceChecker:
    """The shipped word lists."""
    return ComplianceChecker.default()


@pytest.mark.parametrize("term", ["最好", "第一", "唯一", "顶级", "国家级", "100%", "零添加", "绝对"])
def test_absolute_terms_are_found_with_their_span(checker: ComplianceChecker, term: str) -> None:
    """Each absolute term of the issue is found at its exact span under the absolute rule."""
    text = f"这款是{term}的选择"
    [finding] = checker.check(text)
    assert (finding.start, finding.end, finding.term, finding.rule) == (3, 3 + len(term), term, "absolute_term")
    assert finding.suggestion and finding.suggestion != term


def test_everyday_phrases_are_not_claims(checker: ComplianceChecker) -> None:
    """最近, 最后, 第一次, 第一时间 make no claim."""
    assert checker.check("最近第一次来，最后一天，补货第一时间通知") == []


def test_medical_claims_apply_to_beauty_and_food_only(checker: ComplianceChecker) -> None:
    """消炎 in a cream's pitch is a finding; 抗菌 on a phone case is not a cosmetic claim."""
    [f] = checker.check("这款面霜能消炎", category="beauty")
    assert f.rule == "medical_claim" and f.term == "消炎"
    assert checker.check("手机壳表面抗菌", category="digital") == []
    assert checker.check("手机壳表面抗菌")[0].rule == "medical_claim"  # unknown category: checked


def test_price_comparisons(checker: ComplianceChecker) -> None:
    """全网最低价 is one price finding (the longest span wins over 最低); 比专柜便宜一半 too."""
    [f] = checker.check("今天全网最低价")
    assert (f.term, f.rule) == ("全网最低价", "price_comparison")
    [g] = checker.check("比专柜便宜一半")
    assert (g.term, g.rule) == ("比专柜便宜一半", "price_comparison")


def test_rewrite_leaves_a_clean_text(checker: ComplianceChecker) -> None:
    """Every finding replaced by its safer wording leaves nothing to find."""
    text = "全网最低价！国家级工艺，绝对好用，100%纯棉"
    rewritten, findings = checker.rewrite(text)
    assert len(findings) == 4
    assert checker.check(rewritten) == []
    assert rewritten == "直播间优惠价！专业级工艺，非常好用，高比例纯棉"


def test_full_width_forms_are_caught(checker: ComplianceChecker) -> None:
    """Full-width １００％ is the same claim as 100%, and the span points into the original text."""
    [f] = checker.check("１００％纯棉")
    assert f.term == "１００％" and (f.start, f.end) == (0, 4)


def test_a_shop_extends_the_lists(tmp_path: Path) -> None:
    """A shop's own absolute.txt in the extra directory adds its terms to the shipped ones."""
    (tmp_path / "absolute.txt").write_text("# shop words\n爆款之王\t人气款\n", encoding="utf-8")
    shop = ComplianceChecker.default(tmp_path)
    assert [f.term for f in shop.check("爆款之王，最好用")] == ["爆款之王", "最好"]


def test_bad_pattern_is_a_clear_error() -> None:
    """A broken regular expression in a word list names its line."""
    with pytest.raises(InvalidInputError, match="line 1"):
        parse_rules(["re:([\tx"], "absolute_term")


def test_finding_to_dict() -> None:
    """A finding serialises with its span, term, rule and suggestion."""
    assert Finding(0, 2, "最好", "absolute_term", "很好").to_dict() == {
        "start": 0, "end": 2, "term": "最好", "rule": "absolute_term", "suggestion": "很好"}
