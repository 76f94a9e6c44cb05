"""``fastsmp forensics-bench``: the zoo (:mod:`.zoo`), the runs
(:mod:`.run`) and the report (:mod:`.report`)."""

from .run import run

__all__ = ["run"]
