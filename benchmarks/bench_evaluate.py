"""Where the user waits in ``clinicadl evaluate model | compare | procedure``: end to end against computation.

Workloads (binary classification, every default metric, seed 0):

- ``n1000``: 1,000 predictions, one per participant;
- ``n10000``: 10,000 predictions, one per participant;
- ``cluster``: 500 participants with 1-4 sessions (about 1,250 images) for ``model`` and ``compare``; a replicate
  MAPS of 500 participants with 1-2 sessions for ``procedure``.

Commands, each in a fresh process (``python -m clinicadl ...``), results in a temporary folder:

- ``model``: ``evaluate model W.tsv --output ...`` (a prediction TSV);
- ``compare``: ``evaluate compare W.tsv W_b.tsv --output ...`` (model B: model A's score plus noise);
- ``procedure``: ``evaluate procedure MAPS test --output_dir ...`` on a synthetic MAPS of 4 replicates
  (``tests/evaluate/test_procedure_maps.write_procedure``, written without training).

Measured in one run (medians of 3 fresh processes; 1 with ``--quick``), as wall-clock seconds (what the user
waits) and CPU seconds of the process (user + system: what it does, hardly changed by other processes on a
shared machine):

- end to end at 10,000 resamples (the default);
- overhead: end to end at 10 resamples, i.e. start-up, reading, writing and plotting;
- computation: the same library call in this process (imports done) at 10,000 minus at 10 resamples;
- floors: ``python -c pass``, a process importing what every evaluate command needs (numpy, pandas,
  scipy.special, click), and that plus what drawing a figure needs (matplotlib's Figure and Agg canvas);
- figures: drawn in the background (``CLINICADL_FIGURES=background``, what a command does at a terminal) and
  before the command returns (``now``: in a script, a pipe, a SLURM job), both timed.

With ``--baseline DIR`` (a checkout of an earlier clinicadl), every command also runs with ``PYTHONPATH=DIR``,
in the same rounds, for a before / after comparison in one run.

Run ``python benchmarks/bench_evaluate.py [--quick] [--baseline DIR]``; the table is printed and written to
``benchmarks/results/evaluate.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

RESULTS = Path(__file__).resolve().parent / "results" / "evaluate.md"
FULL, SHORT = 10_000, 10
FLOOR_IMPORTS = "import numpy, pandas, scipy.special, click"
FIGURE_IMPORTS = FLOOR_IMPORTS + ", matplotlib.figure, matplotlib.backends.backend_agg"


# --------------------------------------------------------------------------------------------- data
def _write_tsv(path: Path, groups, sessions, y, p1) -> None:
    lines = ["participant_id\tsession_id\ttrue_label\tpredicted_label\tproba0\tproba1"]
    lines += [f"sub-{g:05d}\tses-M{s:03d}\t{t}\t{int(p > 0.5)}\t{1 - p:.6f}\t{p:.6f}"
              for g, s, t, p in zip(groups, sessions, y, p1)]
    path.write_text("\n".join(lines) + "\n")


def prediction_tsvs(folder: Path, name: str, n_participants: int, clustered: bool) -> tuple[Path, Path]:
    """Prediction TSVs of two models on the same images (scores of B: A's plus noise)."""
    rng = np.random.default_rng(0)
    sessions = rng.integers(1, 5, n_participants) if clustered else np.ones(n_participants, dtype=int)
    groups = np.repeat(np.arange(n_participants), sessions)
    visit = np.concatenate([np.arange(k) for k in sessions]) * 6
    label = rng.integers(0, 2, n_participants)
    effect = 1.5 * (2 * label - 1) + rng.normal(size=n_participants)
    noise = 0.7 * rng.normal(size=groups.size) if clustered else 0.0
    p_a = 1 / (1 + np.exp(-(effect[groups] + noise)))
    p_b = np.clip(p_a + rng.normal(0, 0.15, size=groups.size), 0.0005, 0.9995)
    paths = (folder / f"{name}.tsv", folder / f"{name}_b.tsv")
    for path, p1 in zip(paths, (p_a, p_b)):
        _write_tsv(path, groups, visit, label[groups], p1)
    return paths


def procedure_maps(folder: Path, name: str, n_participants: int, clustered: bool) -> Path:
    from evaluate.test_procedure_maps import write_procedure

    return write_procedure(folder / f"maps_{name}", n_replicates=4, n_participants=n_participants,
                           sessions=2 if clustered else 1)


# ------------------------------------------------------------------------------------------ commands
def command_lines(work: Path, inputs: dict, n_resamples: int, tag: str) -> dict[tuple[str, str], list[str]]:
    """The command line of each (command, workload)."""
    out = work / f"out_{tag}_{n_resamples}"
    lines = {}
    for name, (tsv_a, tsv_b, maps) in inputs.items():
        common = ["--n_resamples", str(n_resamples), "--seed", "0"]
        lines["model", name] = ["evaluate", "model", str(tsv_a), *common, "--output", str(out / f"{name}_model.tsv")]
        lines["compare", name] = ["evaluate", "compare", str(tsv_a), str(tsv_b), *common,
                                  "--output", str(out / f"{name}_compare.tsv")]
        lines["procedure", name] = ["evaluate", "procedure", str(maps), "test", *common,
                                    "--output_dir", str(out / f"{name}_procedure")]
    return lines


def run_process(arguments: list[str], pythonpath: str | None = None, figures: str = "now") -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of a fresh ``python`` process, its figures drawn as ``figures``
    says (``CLINICADL_FIGURES``); a figure drawn in the background is waited for after the timing, so that it
    does not slow the next one.

    The CPU time hardly depends on what else runs on the machine; the wall-clock time, what the user waits, does.
    """
    env = dict(os.environ, CLINICADL_FIGURES=figures)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # run outside the checkout: `python -m` puts the working directory first on sys.path, which would shadow the
    # baseline given on PYTHONPATH with this checkout's package
    subprocess.run([sys.executable, *arguments], check=True, capture_output=True, env=env, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    while subprocess.run(["pgrep", "-f", "clinicadl.evaluate.figure_jobs"], capture_output=True).returncode == 0:
        time.sleep(0.05)  # the background figure of this command, not counted (the user does not wait for it)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def in_process(command: str, arguments: list[str]) -> float:
    """Time of the library call behind a command line in this process (imports already done)."""
    from clinicadl.evaluate.compare import compare_models
    from clinicadl.evaluate.model import EvaluationOptions, evaluate_model
    from clinicadl.evaluate.procedure import evaluate_procedure

    os.environ["CLINICADL_FIGURES"] = "off"  # computation only
    n_resamples = int(arguments[arguments.index("--n_resamples") + 1])
    options = EvaluationOptions(n_resamples=n_resamples, seed=0)
    start = time.perf_counter()
    if command == "model":
        evaluate_model(arguments[2], options=options, output=arguments[-1])
    elif command == "compare":
        compare_models(arguments[2], arguments[3], None, options=options, output=arguments[-1])
    else:
        evaluate_procedure(arguments[2], "test", options=options, output_dir=arguments[-1])
    return time.perf_counter() - start


# -------------------------------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 process per timing instead of 3")
    parser.add_argument("--baseline", help="checkout of an earlier clinicadl, timed in the same rounds")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    workloads = {"n1000": (1000, False), "n10000": (10_000, False), "cluster": (500, True)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = {name: (*prediction_tsvs(work, name, n, c), procedure_maps(work, name, n, c))
                  for name, (n, c) in workloads.items()}
        # (version, how figures are drawn): at a terminal (background) and in a script (now) for this checkout
        versions = {"current": (None, "background"), "current_now": (None, "now"),
                    **({"baseline": (args.baseline, "now")} if args.baseline else {})}
        times: dict = {}
        for _ in range(repeats):  # rounds: load from other processes hits every configuration alike
            times.setdefault("pass", []).append(run_process(["-c", "pass"]))
            times.setdefault("imports", []).append(run_process(["-c", FLOOR_IMPORTS]))
            times.setdefault("figure_imports", []).append(run_process(["-c", FIGURE_IMPORTS]))
            for version, (path, figures) in versions.items():
                for n_resamples in (SHORT, FULL):
                    for key, line in command_lines(work, inputs, n_resamples, version).items():
                        t = run_process(["-m", "clinicadl", *line], path, figures)
                        times.setdefault((version, n_resamples, *key), []).append(t)
                        print(f"{version:11s} {n_resamples:6d} {key[0]:9s} {key[1]:8s} wall {t[0]:7.2f} s "
                              f"cpu {t[1]:7.2f} s", flush=True)
        computation = {}
        for key, line in command_lines(work, inputs, SHORT, "inproc").items():
            in_process(key[0], line)  # warm-up: imports, caches
            short = float(np.median([in_process(key[0], line) for _ in range(repeats)]))
            full_line = command_lines(work, inputs, FULL, "inproc")[key]
            full = float(np.median([in_process(key[0], full_line) for _ in range(repeats)]))
            computation[key] = max(full - short, 0.0)
    median = {key: tuple(np.median(np.asarray(values), axis=0)) for key, values in times.items()}
    report = render(median, computation, versions, repeats, args)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(f"written to {RESULTS.relative_to(ROOT)}")


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def render(median: dict, computation: dict, versions: dict, repeats: int, args) -> str:
    labels = {"n1000": "1,000 predictions", "n10000": "10,000 predictions",
              "cluster": "500 participants, several sessions"}
    floor = median["imports"]
    lines = [
        "# Evaluate benchmark: end to end against computation",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; load average at the end (1, 5, 15 min): "
        f"{_load()} on {os.cpu_count()} cores",
        f"- machine: {platform.machine()}; python {platform.python_version()}, numpy {np.__version__}",
        f"- each time: median of {repeats} fresh process(es)" + (" (--quick)" if args.quick else "")
        + "; default metrics of a binary task (12); seed 0. Each cell: wall-clock seconds (what the user waits) / "
        "CPU seconds, user + system (what the process does; hardly changed by the load of other processes)",
        f"- floors: `python -c pass` {median['pass'][0]:.2f} / {median['pass'][1]:.2f} s; importing what an evaluate "
        f"command needs (`{FLOOR_IMPORTS}`) {floor[0]:.2f} / {floor[1]:.2f} s; with matplotlib's Figure and Agg "
        f"canvas (drawing a figure) {median['figure_imports'][0]:.2f} / {median['figure_imports'][1]:.2f} s",
        "- overhead: the command at 10 resamples (start-up, reading, writing, plotting); computation: the library "
        "call in this process at 10,000 minus at 10 resamples (wall clock)",
        "- figures: at a terminal a command draws its figure in a background process and returns "
        "(`CLINICADL_FIGURES=background`, what `auto` does there: the columns without a note); in a script, a pipe "
        "or a SLURM job it draws it before returning (`now`: the column 'figure drawn before exit', and the "
        "baseline)",
        "",
    ]
    header = ("| command | workload | end to end (10,000 resamples) | overhead (10 resamples) | overhead, figure drawn "
              "before exit | computation |")
    if "baseline" in versions:
        header += " baseline end to end | baseline overhead | overhead CPU: baseline / current |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for command in ("model", "compare", "procedure"):
        for name in labels:
            full, short = median["current", FULL, command, name], median["current", SHORT, command, name]
            now = median["current_now", SHORT, command, name]
            row = (f"| {command} | {labels[name]} | {full[0]:.2f} / {full[1]:.2f} s | {short[0]:.2f} / "
                   f"{short[1]:.2f} s | {now[0]:.2f} / {now[1]:.2f} s | {computation[command, name]:.2f} s |")
            if "baseline" in versions:
                b_full, b_short = median["baseline", FULL, command, name], median["baseline", SHORT, command, name]
                row += (f" {b_full[0]:.2f} / {b_full[1]:.2f} s | {b_short[0]:.2f} / {b_short[1]:.2f} s | "
                        f"{b_short[1] / short[1]:.1f}x |")
            lines.append(row)
    lines.append("")
    if "baseline" in versions:
        lines += [f"Baseline: `{versions['baseline'][0]}` on PYTHONPATH, timed in the same rounds.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
