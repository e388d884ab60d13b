"""Soft-ripened helpers."""

from importlib import resources

__version__ = "2.0.1"


def label(variety):
    template = resources.files(__name__).joinpath("templates/label.txt").read_text(encoding="utf-8")
    return template.format(variety=variety).strip()


def plugin():
    return "brie"
