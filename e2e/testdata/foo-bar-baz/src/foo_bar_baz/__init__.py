"""Foo_Bar.baz, installed by cheeseshop's end-to-end tests."""


def hello():
    return "hello from Foo_Bar.baz"
