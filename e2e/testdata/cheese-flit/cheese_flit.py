"""A module published with flit."""
