"""The ground floor of nasbench: the records and mechanisms every layer above shares.

``errors`` (the error types a user sees, and the one line a command prints of one),
``result`` (``EvalResult``, what an evaluation produced), ``candidate`` (``Candidate``
and the seeds derived for it), ``budget`` (``Budget``), ``constraints`` (what a pick must
meet: ``edgegpu_latency<=5.0``), ``files`` (atomic writes),
``paths`` (default locations, relative to the user) and ``ray_cluster`` (starting or
joining Ray). It imports the standard library and torch, and Ray only inside the
functions that start it, and of ``search_spaces`` only the error root (``NasError``) that
every error of both packages derives from; nothing of nasbench above it.
"""
