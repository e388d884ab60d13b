"""cheese-poetry, published with poetry by cheeseshop's end-to-end tests."""

from cheese_dep import crumble


def main():
    print("cheese-poetry: " + crumble())
