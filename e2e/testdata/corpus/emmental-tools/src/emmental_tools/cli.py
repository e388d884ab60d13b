import sys

from emmental_tools import __version__, holes


def main():
    weight = float(sys.argv[1]) if len(sys.argv) > 1 else 90
    print(f"emmental-tools {__version__}: {holes(weight)} holes")
    return 0
