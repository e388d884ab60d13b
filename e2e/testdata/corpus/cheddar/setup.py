#!/usr/bin/env python
# A setup.py-only project, the way many long-lived projects still are: no
# pyproject.toml (build uses setuptools' legacy backend), a single module,
# a script file, and a long description without a content type (PyPI
# renders it as reStructuredText).
import io
import os

from setuptools import setup

here = os.path.abspath(os.path.dirname(__file__))
with io.open(os.path.join(here, "README.txt"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="cheddar",
    version="3.1",
    description="Farmhouse Cheddar utilities (setup.py only)",
    long_description=long_description,
    author="Tom Somerset",
    author_email="tom@example.org",
    url="https://example.org/cheddar",
    license="MIT",
    py_modules=["cheddar"],
    scripts=["bin/cheddar-grade"],
    python_requires=">=3.6",
    install_requires=[],
    classifiers=[
        "Development Status :: 6 - Mature",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.6",
    ],
)
