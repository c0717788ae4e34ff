"""`cuecard intents train | classify | eval` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from assistant.errors import LabelledDataError
from assistant.intents import MODEL_KIND
from knowledge.store import Store

SHOP = """\
多少钱\tprice
这个多少钱\tprice
价格多少\tprice
到手价多少\tprice
包邮吗\tshipping
什么时候发货\tshipping
发什么快递\tshipping
新疆能发吗\tshipping
155 90斤穿什么码\tsize_advice
160 100斤选哪个码\tsize_advice
身高170穿l吗\tsize_advice
165 110斤什么码\tsize_advice
多少钱包邮吗\tprice|shipping
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory and the hashing embedder (fast, deterministic)."""
    monkeypatch.setenv("CUECARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CUECARD_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("CUECARD_LOAD_DEMO", "false")
    return tmp_path


@pytest.fixture
def shop_file(tmp_path: Path) -> Path:
    """A shop's labelled file with a label of its own."""
    path = tmp_path / "shop.tsv"
    path.write_text(SHOP, encoding="utf-8")
    return path


def test_train_versions_the_model_and_classify_uses_it(env: Path, shop_file: Path) -> None:
    """`train --only FILE` records a new active model; `classify` then gives the shop's own label."""
    runner = CliRunner()
    result = runner.invoke(app, ["intents", "train", "--only", str(shop_file)])
    assert result.exit_code == 0, result.output
    assert "size_advice" in result.output
    store = Store(f"sqlite:///{(env / 'data' / 'cuecard.db').resolve()}")
    try:
        active = store.active_model(MODEL_KIND)
    finally:
        store.close()
    assert active is not None and active["version"] in result.output
    assert (Path(active["path"]) / "head.npz").is_file()

    result = runner.invoke(app, ["intents", "classify", "--json", "155 90斤穿什么码", "加v abc12345"])
    assert result.exit_code == 0, result.output
    lines = _json_objects(result.output)
    assert [obj["top_intent"] for obj in lines] == ["size_advice", "spam"]


def _json_objects(text: str) -> list[dict[str, object]]:
    """Parse the concatenated (pretty-printed) JSON objects `classify --json` prints."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
    return out


def test_eval_json_reports_metrics_on_a_known_file(env: Path, shop_file: Path) -> None:
    """Evaluated on its own training file, the model is right on every line; JSON has the agreed keys."""
    runner = CliRunner()
    assert runner.invoke(app, ["intents", "train", "--only", str(shop_file)]).exit_code == 0
    result = runner.invoke(app, ["intents", "eval", "--json", str(shop_file)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"accuracy", "macro_f1", "per_label"} <= set(report)
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert report["per_label"]["size_advice"]["support"] == 4


def test_eval_table_has_per_label_figures_and_confusion_matrix(env: Path, shop_file: Path) -> None:
    """The human-readable report prints accuracy, macro-F1, per-label rows and a confusion matrix."""
    runner = CliRunner()
    assert runner.invoke(app, ["intents", "train", "--only", str(shop_file)]).exit_code == 0
    result = runner.invoke(app, ["intents", "eval", str(shop_file)])
    assert result.exit_code == 0, result.output
    for needle in ("accuracy", "macro-F1", "precision", "recall", "size_advice", "confusion matrix"):
        assert needle in result.output


def test_bad_training_file_is_a_typed_error(env: Path, tmp_path: Path) -> None:
    """A file without tabs is refused with its line number before any model is loaded."""
    bad = tmp_path / "bad.tsv"
    bad.write_text("多少钱 price\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["intents", "train", str(bad)])
    assert isinstance(result.exception, LabelledDataError)
    assert "line 1" in str(result.exception)


def test_cli_error_prints_a_message_and_exits_non_zero(env: Path, tmp_path: Path) -> None:
    """Through the real entry point, a missing file prints `error:` and exits with status 2."""
    proc = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "intents", "eval",
                           str(tmp_path / "missing.tsv")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "missing.tsv" in proc.stderr
