"""The commands: argument parsing and printing over the API, nothing else.

One module per command (``search``, ``rebuild``, ``evaluate``, ``transfer``, ``train``,
``finetune``), each turning its arguments into calls of the layers below and their results
into lines, with one-line errors and exit status 2 for a usage error; the work lives in
importable functions of the API, the config edge, ``nasbench.networks`` and
``nasbench.train``. ``command.run_command`` is the one place an error becomes its line
(every error derives from ``search_spaces.errors.NasError``); ``callable_module`` lets
``nasbench.search`` and ``nasbench.rebuild`` be called as functions. It may import every
layer below it; only the entry points (``python -m nasbench.<command>``) import it.
"""
