"""Tools run from a checkout against the test corpus; not part of the installed package."""
