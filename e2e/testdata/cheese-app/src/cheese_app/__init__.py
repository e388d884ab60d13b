"""cheese-app, installed by cheeseshop's end-to-end tests."""

from cheese_dep import crumble


def main():
    print("cheese-app: " + crumble())
