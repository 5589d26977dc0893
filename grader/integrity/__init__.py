"""Integrity: test cells that learner objects cannot fool, and the flags they raise.

* :func:`install_integrity` — the execution hook: rewrites test cells inside the kernel
  (:mod:`grader.integrity.runtime`) so comparisons, truth tests and trusted functions refuse
  values that answer with the learner's own code, and builtins, modules and ``isinstance`` are
  the originals captured before learner code ran.
* :func:`collect_flags` — after execution: the instructor flags (failed and contained tricks),
  with the runtime's records removed from the notebook's outputs.
"""

from grader.integrity.flags import collect_flags
from grader.integrity.hook import install_integrity, kernel_config, opted_out
from grader.integrity.runtime import EVENT_MIME, OPT_OUT
from grader.results import IntegrityFlag

__all__ = ["EVENT_MIME", "OPT_OUT", "IntegrityFlag", "collect_flags", "install_integrity",
           "kernel_config", "opted_out"]
