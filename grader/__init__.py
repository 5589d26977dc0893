"""Notebooks in, scores out.

Load and validate an assessment, release the student version, restore tampered cells, execute a
submission and score it with nbgrader's semantics, roll scores up to competencies and render
feedback. Nothing in here touches a database or a credential.
"""
