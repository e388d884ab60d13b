# SPDX-License-Identifier: MIT
from emmental_tools.__about__ import __version__


def holes(weight_kg):
    """A wheel of Emmental has about a thousand holes per 100 kg."""
    return round(weight_kg * 10)


__all__ = ["__version__", "holes"]
