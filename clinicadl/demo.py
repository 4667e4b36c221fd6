"""``make demo``: evaluate the example predictions shipped with the package and compare two models.

The examples are synthetic (see ``scripts/make_example_predictions.py``). Results are written to
``clinicadl_demo/`` in the current folder.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from clinicadl.cli.main import cli


def main(output: Path = Path("clinicadl_demo")) -> None:
    examples = resources.files("clinicadl") / "examples"
    a, b = str(examples / "predictions.tsv"), str(examples / "predictions_model_b.tsv")
    output.mkdir(exist_ok=True)
    for title, args in (
        ("How good is model A? (95 % CI, participant-level bootstrap)",
         ["evaluate", "model", a, "--output", str(output / "model_a_metrics_ci.tsv")]),
        ("Is model A better than model B on the same participants?",
         ["evaluate", "compare", a, b, "--metrics", "BA", "--metrics", "AUC", "--metrics", "accuracy",
          "--output", str(output / "a_vs_b.tsv")]),
    ):
        print(f"\n=== {title}\n$ clinicadl {' '.join(args)}\n", flush=True)
        try:
            cli.main(args, prog_name="clinicadl", standalone_mode=False)
        except SystemExit as exit_:  # user errors exit through sys.exit
            if exit_.code:
                sys.exit(exit_.code)


if __name__ == "__main__":
    main()
