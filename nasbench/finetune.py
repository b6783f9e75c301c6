"""``python -m nasbench.finetune SOURCE``: adapt a trained network to a new data set.

An entry point: the command is ``nasbench.cli.finetune``.
"""
from nasbench.cli.finetune import main

if __name__ == "__main__":
    raise SystemExit(main())
