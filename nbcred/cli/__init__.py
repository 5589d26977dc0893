"""The ``nbcred`` command line: one module per command group, loaded when its command runs.

``root`` holds the top-level group and the grading commands; ``_lazy`` the group that imports a
sub-command only when it is used (``nbcred --help`` imports neither the settings nor the grader).
"""

from nbcred.cli.root import app, main, results_table

__all__ = ["app", "main", "results_table"]
