"""`python -m itlake`: the same as the `itlake` command."""

from itlake.cli import app

app(prog_name="itlake")
