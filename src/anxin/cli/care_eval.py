"""``anxin care eval``: the complaint classifier's scores on a held-out split.

Registered by ``anxin.cli.care``; this module does not import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from anxin.care.classify_corpus import load_corpus_file, load_shipped_corpus
from anxin.care.classify_eval import Evaluation, evaluate_corpus
from anxin.cli.context import console

_CONFUSIONS_SHOWN = 10


def evaluate(
    test_share: Annotated[
        float, typer.Option(help="Share of source sentences held out (per category)")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the held-out split")] = 7,
    corpus: Annotated[
        Path | None,
        typer.Option(help="A labelled JSON-lines file instead of the shipped corpus"),
    ] = None,
) -> None:
    """Train on part of a labelled corpus and score the classifier on the rest.

    The last line is machine-readable: RESULT accuracy=... macro_f1=... n_test=...
    """
    complaints = load_shipped_corpus() if corpus is None else load_corpus_file(corpus)
    evaluation = evaluate_corpus(complaints, test_share=test_share, seed=seed)
    name = "the shipped corpus" if corpus is None else str(corpus)
    console.print(
        f"Complaint classifier on {name}: {len(complaints)} complaints, trained on "
        f"{evaluation.n_train}, tested on {evaluation.n_test} "
        f"({evaluation.test_sources} held-out sentences; share {test_share}, seed {seed})",
        highlight=False,
    )
    _print_tables(evaluation)
    console.print(
        f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}",
        highlight=False,
    )
    # Plain print: Rich could wrap or style the line scripts parse.
    print(
        f"RESULT accuracy={evaluation.accuracy:.3f} macro_f1={evaluation.macro_f1:.3f} "
        f"n_test={evaluation.n_test}"
    )


def _print_tables(evaluation: Evaluation) -> None:
    categories = Table("category", "n", "precision", "recall", "F1", title="Per category")
    for row in evaluation.categories:
        categories.add_row(
            row.category, str(row.support), f"{row.precision:.3f}", f"{row.recall:.3f}",
            f"{row.f1:.3f}",
        )  # fmt: skip
    console.print(categories)
    languages = Table("language", "n", "accuracy", title="Per language")
    for lang in evaluation.languages:
        languages.add_row(lang.language, str(lang.support), f"{lang.accuracy:.3f}")
    console.print(languages)
    if not evaluation.confusions:
        console.print("No confusions on the held-out split.")
        return
    confusions = Table("expected", "predicted", "count", title="Most frequent confusions")
    for confusion in evaluation.confusions[:_CONFUSIONS_SHOWN]:
        confusions.add_row(confusion.expected, confusion.predicted, str(confusion.count))
    console.print(confusions)
