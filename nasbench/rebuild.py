"""``python -m nasbench.rebuild NAME``: rebuild a network, print its layer table and checks.

An entry point: the command is ``nasbench.cli.rebuild``; called as a function
(``nasbench.rebuild(...)``) this module is ``nasbench.networks.rebuild.rebuild``.
"""
from nasbench.cli.callable_module import make_callable
from nasbench.cli.rebuild import main
from nasbench.networks.rebuild import rebuild

make_callable(__name__, rebuild)

if __name__ == "__main__":
    raise SystemExit(main())
