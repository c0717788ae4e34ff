"""`cuecard intents`: Train, classify and evaluate comment intents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Train, classify and evaluate comment intents.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _context(data_dir: Path | None):  # type: ignore[no-untyped-def]
    """Settings, store and embedder for a command (imported lazily: `--help` stays instant)."""
    from api.cli import load_settings
    from api.services import build_store
    from knowledge.embedder import load_embedder

    settings = load_settings(data_dir=data_dir)
    store = build_store(settings)
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size,
                             settings.embedding_cache_size)
    return settings, store, embedder


_SHORT = {"promotion": "promo", "shipping": "ship", "product_info": "info", "purchase": "buy",
          "after_sales": "after", "complaint": "compl", "chitchat": "chat"}
DataDir = Annotated[Path | None, typer.Option(help="Data directory (default CUECARD_DATA_DIR).")]


@app.command()
def train(
    file: Annotated[Path, typer.Argument(help="Labelled comments, lines `text<TAB>label|label`.")],
    data_dir: DataDir = None,
    only: Annotated[bool, typer.Option("--only", help="Train on FILE alone, without the repo's examples.")] = False,
) -> None:
    """Retrain the intent head with a shop's own examples (and new labels); version and activate it."""
    from assistant.intents import save_classifier, train_classifier
    from assistant.labelled import default_examples, read_examples

    own = read_examples(file)  # a bad file fails before any model is loaded
    settings, store, embedder = _context(data_dir)
    try:
        base = [] if only else default_examples()
        with err.status("training the intent head…") as status:
            classifier = train_classifier(embedder, [*base, *own], threshold=settings.intent_threshold,
                                          progress=lambda msg: status.update(f"training the intent head: {msg}"))
        path = save_classifier(classifier, settings.models_dir, store, {"trained_on": [file.name] +
                                                                        ([] if only else ["repo"])})
    finally:
        store.close()
    metrics = classifier.head.meta["metrics"]
    out.print(f"trained intent model [bold]{classifier.version}[/] on {metrics['n_train']} comments "
              f"({len(own)} from {file.name}); labels: {', '.join(classifier.labels)}")
    out.print(f"cross-validated accuracy {metrics['cv_accuracy']:.3f}, macro-F1 {metrics['cv_macro_f1']:.3f}; "
              f"saved to {path}")


def _classifier(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from assistant.intents import load_or_train

    settings, store, embedder = _context(data_dir)
    try:
        return load_or_train(embedder, store, settings.models_dir, threshold=settings.intent_threshold,
                             progress=lambda msg: err.print(f"[dim]no intent model yet; training one: {msg}[/]"))
    finally:
        store.close()


@app.command()
def classify(
    texts: Annotated[list[str], typer.Argument(help="Comments to classify.")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per comment.")] = False,
) -> None:
    """Print each comment's labels and scores (top label first)."""
    from assistant.normalize import normalize

    classifier = _classifier(data_dir)
    for text, pred in zip(texts, classifier.classify(texts), strict=True):
        if as_json:
            out.print_json(json.dumps({"text": text, "normalized": normalize(text), "top_intent": pred.top,
                                       "intents": pred.intents, "source": pred.source}, ensure_ascii=False))
        else:
            labels = "  ".join(f"{lab} {score:.2f}" for lab, score in pred.intents.items())
            out.print(f"{text}\t[bold]{pred.top}[/]\t{labels}", markup=True, highlight=False)


@app.command("eval")
def evaluate_file(
    file: Annotated[Path, typer.Argument(help="Lines `text<TAB>labels`; labels separated by `|`, any counts.")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (accuracy, macro_f1, per_label).")] = False,
) -> None:
    """Accuracy, macro-F1, per-label precision/recall/F1 and a confusion matrix on a labelled file."""
    from assistant.labelled import evaluate, read_examples

    examples = read_examples(file)
    classifier = _classifier(data_dir)
    preds = classifier.classify([ex.text for ex in examples])
    report = evaluate([ex.labels for ex in examples], [p.top for p in preds], classifier.labels)
    report["model"] = classifier.version
    from assistant.complaints import kind_accuracy

    report["complaint_kinds"] = kind_accuracy()  # the hand-labelled kinds set, dev and held-out test
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    out.print(f"{file.name}: {report['n']} comments, model {classifier.version}")
    out.print(f"accuracy [bold]{report['accuracy']:.4f}[/]   macro-F1 [bold]{report['macro_f1']:.4f}[/]")
    out.print("complaint kind accuracy: " + "   ".join(f"{split} {m['accuracy']:.4f} (n={m['n']})"
                                                   for split, m in report["complaint_kinds"].items()))
    table = Table("label", "precision", "recall", "F1", "support")
    for lab, m in report["per_label"].items():
        table.add_row(lab, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    out.print(table)
    short = [_SHORT.get(lab, lab[:5]) for lab in report["labels"]]
    confusion = Table("truth", *short, title="confusion matrix (rows: truth, columns: predicted)",
                      box=box.SIMPLE, padding=(0, 1))
    for lab, row in zip(short, report["confusion"], strict=True):
        confusion.add_row(lab, *[str(v) if v else "·" for v in row])
    Console(width=max(out.width, 10 + 8 * len(short))).print(confusion)
