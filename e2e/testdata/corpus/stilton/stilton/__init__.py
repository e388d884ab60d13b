"""Blue veins for your cheese board, packaged with flit."""

import sys

import emmental_tools

__version__ = "0.9.1"


def veins(n):
    return " ".join(["blue"] * n)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    print(veins(n), "and", emmental_tools.holes(1), "holes")
