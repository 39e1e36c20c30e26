"""Collect: poll the publishers of real-time feeds and drop what they publish in the inbox.

    itlake collect                                   # every catalogue entry with a `poll` block
    itlake collect --feed gbfs_station_status --max-polls 3

This stage comes before the feeds: it does not read what it fetches beyond checking that it is the
feed's format, and writes each new payload, exactly as served, into the inbox folder the ingest
DAGs read (`$ITLAKE_INBOX/<feed>/<UTC date>/`, itlake/ingest/pipeline.py `inbox_files`). Every fetch is a
row of `_system.fetch_log` (itlake/collect/fetch_log.py). `itlake.collect.poller` holds the loop.
"""

from itlake.collect.poller import Collector, Target, run_collector, targets_from_catalog

__all__ = ["Collector", "Target", "run_collector", "targets_from_catalog"]
