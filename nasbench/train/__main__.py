"""``python -m nasbench.train SOURCE``: full-scale training (an entry point: the command is
``nasbench.cli.train``)."""
from nasbench.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
