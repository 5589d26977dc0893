"""Scores in, verifiable credentials out: Open Badges 3.0 and CLR 2.0 on W3C VC 2.0."""
