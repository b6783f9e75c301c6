"""Let an entry module be called as its API function.

``nasbench.search`` is both the module behind ``python -m nasbench.search`` and the name
users call: ``nasbench.search(...)``. Python binds a package's attribute to its submodule
once the submodule is imported, so the module itself is made callable, forwarding to the
function it is given (``nasbench.api.search``, ``nasbench.networks.rebuild.rebuild``).
"""
from __future__ import annotations

import inspect
import sys
import types
from typing import Any, Callable


class CallableModule(types.ModuleType):
    """A module whose call is the function stored as its ``__call_target__``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["__call_target__"](*args, **kwargs)


def make_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Make the module ``module_name`` callable as ``function``, with that function's
    signature, and say so in the module's help."""
    module = sys.modules[module_name]
    module.__dict__["__call_target__"] = function
    module.__dict__["__signature__"] = inspect.signature(function)
    module.__doc__ = (f"{module.__doc__ or ''}\n\nCalled as a function, this module is "
                      f"{function.__module__}.{function.__name__}{inspect.signature(function)}:\n\n"
                      f"{inspect.getdoc(function)}")
    module.__class__ = CallableModule
