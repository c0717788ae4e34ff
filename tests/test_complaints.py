"""Complaint kinds, products and severity levels (issue 13)."""

from __future__ import annotations

from assistant.complaints import Severity, complaint_kind, kind_accuracy, read_complaint, severity


def test_kinds_follow_their_cues() -> None:
    """Each kind's typical complaint gets that kind; no cue gives `other`."""
    assert complaint_kind("快递太慢了，一个星期还没到") == "logistics"
    assert complaint_kind("真是好质量啊 穿一次就破了") == "quality"
    assert complaint_kind("主播一直不回答问题") == "service"
    assert complaint_kind("刚买完就降价") == "price"
    assert complaint_kind("这是假货吧") == "authenticity"
    assert complaint_kind("无语了") == "other"


def test_named_product_wins_over_the_one_on_stage() -> None:
    """A complaint naming a product is about it; otherwise about the product on stage."""
    assert read_complaint("拉链坏了", named_product="p2", on_stage="p1").product_id == "p2"
    assert read_complaint("拉链坏了", on_stage="p1").product_id == "p1"
    assert read_complaint("拉链坏了").product_id is None


def test_severity_levels() -> None:
    """One viewer → 1; quality or safety or repeats → 2; many distinct viewers → 3."""
    assert severity("logistics") is Severity.ORDINARY
    assert severity("quality") is Severity.DISPUTE
    assert severity("other", safety=True) is Severity.DISPUTE
    assert severity("price", product_complaints=3) is Severity.DISPUTE
    assert severity("logistics", distinct_viewers=10) is Severity.INCIDENT
    assert read_complaint("吃了拉肚子").safety


def test_kind_accuracy_reports_both_splits() -> None:
    """The hand-labelled kinds set is scored per split, dev perfect by construction of the cues."""
    report = kind_accuracy()
    assert set(report) == {"dev", "test"}
    assert report["dev"]["accuracy"] == 1.0
    assert report["test"]["n"] >= 20
