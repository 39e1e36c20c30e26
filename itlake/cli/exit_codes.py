"""The exit status of every `itlake` command, one meaning each (documented in the CLI reference)."""

from __future__ import annotations

OK = 0
FAILED = 1
USAGE = 2

EXIT_CODES = {
    OK: "done; for a check, every check passed",
    FAILED: "refused or failed: a refused ingest, a failed quality check, a stale resource under "
    "`--fail-on-stale`, a personal identifier found, an invalid catalogue, a query the engine refused",
    USAGE: "usage: an unknown command or option, a wrong resource name (with a \"did you mean\"), a "
    "missing file, or a setting the command cannot start without (production mode without its key); "
    "nothing was started",
}
