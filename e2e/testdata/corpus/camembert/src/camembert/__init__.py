"""Ripen Camembert."""

__version__ = "0.3.0"


def ready(days):
    return "à cœur" if days >= 21 else "plâtreux"
