"""What one run of ``fastsmp reproduce`` measures: :data:`DEFAULT` or :data:`QUICK`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT", "QUICK", "Config"]


@dataclass(frozen=True)
class Config:
    """What one run measures (``DEFAULT`` or ``QUICK``)."""

    line_length: int = 8192
    n_lines: int = 400
    lengths: tuple = (10, 20, 50, 100)
    mus: tuple = (-1.0, 0.0, 1.0)
    kernels: tuple = (3, 5, 7)
    pools: tuple = ((2, 1), (2, 2), (3, 1), (3, 2))
    conv_channels: int = 3
    field: int = 128
    n_fields: int = 96
    field_lengths: tuple = (20,)
    stack_lengths: tuple = (20, 50, 100)
    stack_depth: int = 3
    stack_channels: int = 8
    stack_lines: int = 200
    #: passed to the model's std integrals (fewer lags and Sobol points in --quick)
    model_kw: tuple = ()


DEFAULT = Config()
QUICK = Config(
    line_length=2048,
    n_lines=64,
    lengths=(20,),
    mus=(0.0, 1.0),
    kernels=(5,),
    pools=((2, 2),),
    field=64,
    n_fields=12,
    stack_lengths=(50,),
    stack_depth=2,
    stack_channels=3,
    stack_lines=32,
    model_kw=(("n_tau", 32), ("log2_points", 11)),
)
