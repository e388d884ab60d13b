import argparse
import json
from importlib import resources


def taste(weeks):
    names = json.loads(resources.files("gouda").joinpath("data/ages.json").read_text())
    best = "jong"
    for name, min_weeks in names.items():
        if weeks >= min_weeks:
            best = name
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gouda")
    parser.add_argument("--weeks", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"Gouda aged {args.weeks} weeks: {taste(args.weeks)}")
    return 0
