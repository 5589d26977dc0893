"""nbcred: the application that wires grading (``grader``) to credentials (``credentials``)."""

__version__ = "0.1.0"
