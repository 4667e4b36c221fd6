"""Run independent tasks in worker processes, in order, with a progress bar.

Every task carries its own seed, so results do not depend on the number of processes: ``n_proc=1`` runs the same
function in the calling process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def run_tasks(function: Callable, tasks: Sequence, *, n_proc: int, progress: bool, desc: str) -> list:
    """``[function(task) for task in tasks]``, computed by ``n_proc`` processes (results in task order)."""
    from tqdm.auto import tqdm

    with tqdm(total=len(tasks), desc=desc, unit="participant", disable=not progress) as bar:
        if n_proc <= 1 or len(tasks) <= 1:
            results = []
            for task in tasks:
                results.append(function(task))
                bar.update()
            return results
        import os
        from concurrent.futures import ProcessPoolExecutor

        from clinicadl.worker_process import die_with_parent

        results = []
        with ProcessPoolExecutor(max_workers=min(n_proc, len(tasks)), initializer=die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            for result in pool.map(function, tasks, chunksize=1):
                results.append(result)
                bar.update()
        return results
