"""Age and slice Gouda wheels."""

__version__ = "1.4.2"

AGES = {"jong": 4, "belegen": 16, "oud": 52}
