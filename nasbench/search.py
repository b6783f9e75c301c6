"""``python -m nasbench.search +space=nasnet``: run an architecture search.

An entry point: the command is ``nasbench.cli.search``; called as a function
(``nasbench.search(...)``) this module is ``nasbench.api.search``.
"""
from nasbench.api import search
from nasbench.cli.callable_module import make_callable
from nasbench.cli.search import main

make_callable(__name__, search)

if __name__ == "__main__":
    raise SystemExit(main())
