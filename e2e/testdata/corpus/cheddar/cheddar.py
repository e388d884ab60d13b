"""Grade farmhouse Cheddar."""

__version__ = "3.1"


def grade(months):
    if months >= 15:
        return "vintage"
    if months >= 9:
        return "mature"
    return "mild"
