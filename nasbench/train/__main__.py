"""``python -m nasbench.train SOURCE``: full-scale training (see ``nasbench.train.full``)."""
from nasbench.train.full import main

if __name__ == "__main__":
    raise SystemExit(main())
