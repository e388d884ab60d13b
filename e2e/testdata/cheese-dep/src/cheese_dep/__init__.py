"""cheese-dep, installed by cheeseshop's end-to-end tests."""


def crumble():
    return "crumbled"
