"""Which layers a scan hooks, and which axes of their outputs it reduces.

:func:`select_layers` turns the ``layers`` argument of
:func:`fastsmp.scan.scan_model` (names, globs over ``named_modules()``, module
types; by default :func:`default_layer_types`) into ``(name, module)``
pairs, and says which names come close when a spec matches nothing.
:func:`default_axis` is the line axes used when no ``axis`` is given.
"""

from __future__ import annotations

import difflib
import fnmatch
import re

_GLOB_CHARS = set("*?[")


def default_layer_types():
    """The module types scanned when no ``layers`` are given.

    Returns
    -------
    tuple of type
        The ReLU family (``ReLU``, ``ReLU6``, ``LeakyReLU``, ``PReLU``,
        ``RReLU``) and every pooling layer of ``torch.nn`` (max, average,
        adaptive, LP and fractional pooling, 1-D to 3-D).

    Examples
    --------
    >>> import torch.nn as nn
    >>> from fastsmp.scan import default_layer_types
    >>> nn.ReLU in default_layer_types() and nn.MaxPool2d in default_layer_types()
    True
    """
    from torch import nn

    relus = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)
    pools = tuple(
        getattr(nn, name) for name in dir(nn) if re.fullmatch(r"(Adaptive)?(Max|Avg|LP|FractionalMax)Pool[123]d", name)
    )
    return relus + pools


def _is_type_spec(spec):
    return isinstance(spec, type) or (
        isinstance(spec, tuple) and len(spec) > 0 and all(isinstance(s, type) for s in spec)
    )


def _close_names(pattern, names, n=8):
    plain = "".join(ch for ch in pattern if ch not in _GLOB_CHARS)
    close = difflib.get_close_matches(plain, names, n=n, cutoff=0.4)
    return close or names[:n]


def select_layers(model, layers=None):
    """The ``(name, module)`` pairs of ``model`` that ``layers`` selects.

    Parameters
    ----------
    model : torch.nn.Module
    layers : None, str, type, or a list of them
        ``None``: every module of :func:`default_layer_types`. A string is
        an exact name from ``model.named_modules()`` or, when it holds
        ``*``, ``?`` or ``[``, a glob over those names (``"features.*"``).
        A type (or tuple of types) selects every module of that type.

    Returns
    -------
    list of (str, torch.nn.Module)
        In ``named_modules()`` order, each module once.

    Raises
    ------
    ValueError
        When a name, glob or type matches nothing; the message lists the
        closest names (or the types present).

    Examples
    --------
    >>> import torch.nn as nn
    >>> from fastsmp.scan import select_layers
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> [name for name, _ in select_layers(net)]
    ['1', '2']
    >>> [name for name, _ in select_layers(net, [nn.Conv2d, "2"])]
    ['0', '2']
    """
    named = [(name, module) for name, module in model.named_modules() if name]
    names = [name for name, _ in named]
    specs = [default_layer_types()] if layers is None else layers
    if isinstance(specs, (str, type)) or _is_type_spec(specs):
        specs = [specs]
    chosen = set()
    for spec in specs:
        hits = _match(spec, named)
        if not hits:
            raise ValueError(_no_match_message(spec, named, names, default=layers is None))
        chosen.update(hits)
    return [(name, module) for name, module in named if name in chosen]


def _match(spec, named):
    if _is_type_spec(spec):
        return {name for name, module in named if isinstance(module, spec)}
    if not isinstance(spec, str):
        raise TypeError(f"layers takes names, globs or module types; got {spec!r}")
    if _GLOB_CHARS & set(spec):
        return {name for name, _ in named if fnmatch.fnmatchcase(name, spec)}
    return {name for name, _ in named if name == spec}


def _no_match_message(spec, named, names, default):
    if default:
        return "the model has no ReLU or pooling module to scan by default; name the layers to scan with layers=[...]"
    if _is_type_spec(spec):
        present = sorted({type(m).__name__ for _, m in named})
        return f"no module of type {spec!r} in the model; its module types are: {', '.join(present)}"
    kind = "glob" if _GLOB_CHARS & set(spec) else "layer name"
    close = _close_names(spec, names)
    return f"the {kind} {spec!r} matches no module of the model; close names: {', '.join(map(repr, close))}"


def default_axis(ndim):
    """The axes reduced for an activation of ``ndim`` dimensions: every axis
    after (batch, channel), i.e. ``(-2, -1)`` for 4-D, ``-1`` for 3-D;
    ``-1`` for a 2-D (batch, feature) output.

    Examples
    --------
    >>> from fastsmp.scan import default_axis
    >>> default_axis(4), default_axis(3), default_axis(2)
    ((-2, -1), -1, -1)
    """
    if ndim <= 3:
        return -1
    return tuple(range(2 - ndim, 0))
