"""Let a command's module be called as its API function.

``nasbench.search`` is both the module behind ``python -m nasbench.search`` and the name
users call: ``nasbench.search(...)``.
Python binds a package's attribute to its submodule once the submodule is imported, so
the module itself is made callable, forwarding to the API function (``nasbench.api``).
"""
from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call is ``nasbench.api.<__api_function__>``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        function = getattr(importlib.import_module("nasbench.api"), self.__dict__["__api_function__"])
        return function(*args, **kwargs)


def make_callable(module_name: str, api_function: str) -> None:
    """Make the module ``module_name`` callable as ``nasbench.api.<api_function>``, with
    that function's signature, and say so in the module's help."""
    module = sys.modules[module_name]
    function = getattr(importlib.import_module("nasbench.api"), api_function)
    module.__dict__["__api_function__"] = api_function
    module.__dict__["__signature__"] = inspect.signature(function)
    module.__doc__ = (f"{module.__doc__ or ''}\n\nCalled as a function, this module is nasbench.api.{api_function}"
                      f"{inspect.signature(function)}:\n\n{inspect.getdoc(function)}")
    module.__class__ = CallableModule
