"""Release one open dataset: build it, gate it, suppress small cells, write the table and the folder.

    spark-submit jobs/step.py --step publish_od_taxi_hourly --logical-date 2026-11-27

The builder in itlake/publish/datasets/<name>.py makes the day's rows; the gate checks the entry,
its contract and its sources before anything is built, and the rows after suppression; the rows
replace the day's partition of `open.<name>` (the whole table for a snapshot), and the whole table
becomes a new release version unless its content is unchanged, and only if no file of the new
version holds a personal identifier. Every outcome, released, unchanged or refused with its
reason, is one row of `_system.publication_log`.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from itlake.publish.anonymity import suppress_small_cells
from itlake.publish.gate import PublicationRefused, check_frame, check_release
from itlake.publish.release import Publication, licence_text, log_publication, release_dcat, write_release

NULLABLE_INTEGERS = {"int": "Int32", "long": "Int64"}


def sources_of(catalog, entry) -> list:
    """(entry, contract) of every table the dataset is built from, by the entry's `related` codes."""
    from itlake.catalog.contracts import load_contract

    pairs = []
    for code in entry.related:
        source = catalog.get(code)
        pairs += [(source, load_contract(name)) for name in source.schema]
    return pairs


# The steps `publish` reports to `advance`: built and stored, collected, written, logged.
PUBLISH_STEPS = 4


def publish(spark, code_or_name: str, day, k: int, advance=None) -> Publication:
    """Release one dataset for service date `day`; raises PublicationRefused after logging a refusal.
    `advance(1)`, when given, is called after each of the PUBLISH_STEPS steps (a progress bar)."""
    step = advance or (lambda steps=1: None)
    from itlake.catalog.contracts import load_contract
    from itlake.catalog.resources import load_catalog
    from itlake.lake.system import synthetic_codes
    from itlake.publish.datasets import DATASET_NAMES, get_dataset

    catalog = load_catalog()
    entry = catalog.get(code_or_name)
    contract = load_contract(entry.schema[0])
    synthetic = entry.code in synthetic_codes(spark, catalog)
    publication = Publication(code=entry.code, name=entry.name, synthetic=synthetic)
    try:
        sources = sources_of(catalog, entry)
        check_release(entry, contract, sources)
        if entry.name not in DATASET_NAMES:
            raise PublicationRefused(
                f"{entry.code} {entry.name}: no open dataset builder itlake/publish/datasets/{entry.name}.py"
            )
        dataset = get_dataset(entry.name)
        released = _build_and_store(spark, dataset, entry, contract, sources, day, k, publication)
        step(1)
        order = list(dict.fromkeys([*contract.partition_by, *contract.primary_key]))
        frame = released.orderBy(*order).toPandas()
        for column in (c.name for c in contract.columns if c.type == "binary"):
            frame[column] = frame[column].map(lambda v: None if v is None else bytes(v))
        # An integer column with a null comes out of Spark as floats; keep it integer (4, not 4.0).
        for c in contract.columns:
            if c.type in NULLABLE_INTEGERS:
                frame[c.name] = frame[c.name].astype(NULLABLE_INTEGERS[c.type])
        step(1)
        publication = write_release(
            frame,
            entry,
            contract,
            publication,
            release_dcat(catalog, entry, synthetic),
            licence_text(entry.licence),
            k=k,
            k_column=dataset.K_COLUMN,
            privacy=dataset.PRIVACY,
        )
        step(1)
    except PublicationRefused as refused:
        publication.status, publication.reason = "refused", str(refused)
        log_publication(spark, publication)
        raise
    log_publication(spark, publication)
    step(1)
    return publication


def _build_and_store(spark, dataset, entry, contract, sources, day, k, publication):
    """Build, suppress, check and write `open.<name>`; returns the whole open table to release."""
    from itlake.lake.delta import overwrite
    from itlake.lake.paths import table_path
    from itlake.lake.tables import conform, read_lake_table, write_partition

    cells = dataset.build(spark, day).transform(conform(entry.name)).persist()
    try:
        if dataset.K_COLUMN is None:
            released = cells
        else:
            released, withheld = suppress_small_cells(cells, k, dataset.K_COLUMN)
            counts = withheld.agg(
                F.count("*").alias("cells"), F.coalesce(F.sum(dataset.K_COLUMN), F.lit(0)).alias("units")
            ).first()
            publication.suppressed_cells, publication.suppressed_trips = counts.cells, counts.units
        check_frame(released, entry, contract, sources, dataset.K_COLUMN, k)
        if contract.partition_by:
            write_partition(released, entry.name, day)
        else:
            overwrite(released, table_path(contract.layer, entry.name))
    finally:
        cells.unpersist()
    return read_lake_table(spark, entry.name).transform(conform(entry.name))
