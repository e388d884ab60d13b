"""Sheep's milk blue cheese."""

import camembert

__version__ = "1.2.0"


def cave():
    return "Combalou"


def main():
    print("roquefort", __version__, "from", cave(), "beside camembert", camembert.__version__)
