"""``python -m nasbench.transfer SOURCE``: a cell in its full-scale network, with its figures.

An entry point: the command is ``nasbench.cli.transfer``.
"""
from nasbench.cli.transfer import main

if __name__ == "__main__":
    raise SystemExit(main())
