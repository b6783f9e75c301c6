"""``python -m nasbench.dashboard RUN_DIR [RUN_DIR ...]``: watch searches in optuna-dashboard.

An entry point: the command is ``nasbench.cli.dashboard``.
"""
from nasbench.cli.dashboard import main

if __name__ == "__main__":
    raise SystemExit(main())
