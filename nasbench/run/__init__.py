"""One search run: the loop, the run directory it writes, its lock and its report.

``loop`` is the one search loop (ask, evaluate, record, tell, save; ``SearchRecorder``
is the bookkeeping every executor shares, ``run_search`` the local loop); ``store`` is
the run directory (``history.jsonl``, the strategy state, ``best.json``), ``lock`` its
one-writer lock; ``report`` writes ``summary.md`` and ``best.json`` at the end, with
``plots`` and the cell ``drawings``. It may import the layers below it: evaluators'
protocol, training, networks, strategies, tables, data, core and ``search_spaces``;
the executors and the one-shot loop above drive it.
"""
