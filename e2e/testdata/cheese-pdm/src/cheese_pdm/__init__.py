"""cheese-pdm, published with pdm by cheeseshop's end-to-end tests."""

from cheese_dep import crumble


def main():
    print("cheese-pdm: " + crumble())
