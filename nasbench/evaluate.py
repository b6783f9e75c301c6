"""``python -m nasbench.evaluate NAME``: train one network as a proxy and print its result.

An entry point: the command is ``nasbench.cli.evaluate``.
"""
from nasbench.cli.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
