"""NSGA-II on the NAS-Bench-201 table trades validation accuracy against network size."""
from __future__ import annotations

import nasbench
from nasbench.run import report
from nasbench.run.pareto import pareto_front


def test_nsga2_on_the_table_trades_accuracy_against_params(tmp_path, monkeypatch):
    plotted = []
    monkeypatch.setattr(report, "plot_history",
                        lambda history, run_dir, cost="macs", every_cell=None: plotted.append((cost, len(every_cell))))
    outcome = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="nsga2", trials=16, seed=0,
                              run_dir=tmp_path, progress=False,
                              overrides=["search.params.objectives=[val_acc,params]",
                                         "+search.params.sampler_options.population_size=4"])
    results = [record.result for record in outcome.history]
    assert len(results) == 16 and all(result.ok for result in results)
    sizes = {result.params for result in results}
    # The space spans 73,306 (no conv) to 1,531,546 (six 3x3 convs) parameters on CIFAR-10.
    assert len(sizes) >= 4 and all(73_306 <= size <= 1_531_546 for size in sizes)
    front = pareto_front([(float(result.params), result.val_acc) for result in results])
    assert len(front) >= 2
    assert plotted == [("params", 15_625)], "the front is drawn against what the search traded, and the table's"
