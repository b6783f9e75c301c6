"""``python -m nasbench.train SOURCE``: full-scale training (see ``nasbench.train.cli``)."""
from nasbench.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
