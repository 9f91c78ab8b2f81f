"""The values users put in grids, as the core carries them: plain JSON, one spelling per meaning.

The search core (stage tables, the store's keys, reports) holds parameters as JSON. A user's grid may hold numpy
scalars and arrays, estimators (the Pipeline idiom: ``{"clf": [LogisticRegression(), SVC()]}``), callables and
tuples. ``plain`` turns numpy scalars into Python's; ``Tokens`` stands every other value in for a readable token
that names what decides it (``describe``: an estimator's class and parameters, a function's qualified name and
source hash, an array's values), and hands the user's own object back wherever a fit or the user reads it.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Mapping
from typing import Any

JSON_SCALARS = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
    """A numpy scalar (or 0-d array) as the Python scalar it holds; anything else as it is."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == () and type(value).__module__ == "numpy":
        return item()
    return value


def describe(value: Any) -> Any:
    """What decides a value's results, as JSON: estimators by class and every parameter (nested ones too),
    functions by qualified name and a hash of their source (editing one changes it), arrays by dtype, shape and
    every element, containers element by element. Never a memory address where something better exists."""
    value = plain(value)
    if isinstance(value, float):
        return {"float": repr(value)} if math.isfinite(value) else {"float": str(value)}
    if isinstance(value, JSON_SCALARS):
        return value
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = value.get_params(deep=False)
        return {"class": _qualified(type(value)), "params": {k: describe(v) for k, v in sorted(params.items())}}
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return {"array": str(value.dtype), "shape": list(value.shape), "values": describe(value.tolist())}
    if isinstance(value, Mapping):
        return {"mapping": {str(k): describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return {type(value).__name__: [describe(v) for v in items]}
    if callable(value):
        try:
            source = hashlib.sha256(inspect.getsource(value).encode()).hexdigest()[:16]
        except (OSError, TypeError):
            source = ""
        return {"callable": _qualified(value), **({"source": source} if source else {})}
    return {"object": _qualified(type(value)), "repr": repr(value)}


def digest(value: Any) -> str:
    """A short hash of ``describe(value)``: what a token carries so that two different values never share one."""
    text = json.dumps(describe(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class Tokens:
    """User values that JSON cannot carry, stood in for by tokens such as ``"SVC(C=10) #3fa2c1d0"``.

    ``encode`` a grid before the core sees it; ``decode`` parameters before a fit or before the user reads them.
    """

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}

    def encode(self, value: Any) -> Any:
        value = plain(value)
        if isinstance(value, JSON_SCALARS):
            return value
        label = " ".join(repr(value).split())
        token = f"{label[:60]}{'…' if len(label) > 60 else ''} #{digest(value)}"
        self._objects.setdefault(token, value)
        return token

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._objects.get(v, v) if isinstance(v, str) else v for k, v in params.items()}

    def __bool__(self) -> bool:
        return bool(self._objects)


def _qualified(thing: Any) -> str:
    return f"{getattr(thing, '__module__', '')}.{getattr(thing, '__qualname__', type(thing).__name__)}"
