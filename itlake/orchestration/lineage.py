"""OpenLineage for the itlake Airflow tasks: inputs and outputs named by catalogue code.

The openlineage provider loads `ItlakeTaskExtractor` when Airflow is configured with

    AIRFLOW__OPENLINEAGE__EXTRACTORS=itlake.orchestration.lineage.ItlakeTaskExtractor
    AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "file", "log_file_path": "$AIRFLOW_HOME/openlineage.json"}'

(the Makefile and `itlake demo run` set both). For every task of an `itlake_*` DAG it reports:

- outputs: the task's outlets (one Asset per lake table);
- inputs: the Assets the DAG is scheduled on, the task's inlets, and for an ingest task the
  resource's inbox folder.

Each dataset is named by the code of the catalogue entry that owns the table (`03.02.001`); an
entry holding several tables (GTFS) names each as `code/contract` (`03.01.001/gtfs_stop`). The
dataset's documentation facet carries the table's lake name and the entry's title.
"""

from __future__ import annotations

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

NAMESPACE = "itlake"
INBOX_NAMESPACE = "itlake-inbox"
INGEST_PREFIX = "ingest_"


def dataset_name(table: str, catalog=None) -> str:
    """The lineage name of a lake table such as `silver.taxi_gps`: its catalogue code."""
    from itlake.catalog.resources import load_catalog

    entry = (catalog or load_catalog()).get(table)
    contract_name = table.split(".", 1)[1]
    return entry.code if len(entry.schema) == 1 else f"{entry.code}/{contract_name}"


def _dataset(namespace: str, name: str, description: str):
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import documentation_dataset

    return Dataset(
        namespace=namespace,
        name=name,
        facets={"documentation": documentation_dataset.DocumentationDatasetFacet(description=description)},
    )


def table_dataset(table: str, catalog):
    entry = catalog.get(table)
    return _dataset(NAMESPACE, dataset_name(table, catalog), f"{table}: {entry.title.en}")


def _asset_names(objects) -> list[str]:
    return [getattr(o, "name", None) for o in objects or [] if getattr(o, "name", None)]


def _leaf_assets(condition) -> list[str]:
    """The names of the Assets in a schedule condition (Asset, AssetAll, AssetAny, nested)."""
    if condition is None:
        return []
    if hasattr(condition, "objects"):
        return [name for part in condition.objects for name in _leaf_assets(part)]
    return [condition.name] if getattr(condition, "name", None) else []


def schedule_assets(dag) -> list[str]:
    """The tables a DAG is scheduled on, by name (`silver.taxi_gps`)."""
    return _leaf_assets(getattr(getattr(dag, "timetable", None), "asset_condition", None))


def task_lineage(task) -> OperatorLineage:
    """Inputs and outputs of one itlake task, by catalogue code."""
    from itlake.catalog.resources import load_catalog

    catalog = load_catalog()
    inputs = [table_dataset(t, catalog) for t in _asset_names(task.inlets) + schedule_assets(task.dag)]
    if task.task_id.startswith(INGEST_PREFIX):
        entry = catalog.get(task.task_id[len(INGEST_PREFIX) :])
        inputs.append(_dataset(INBOX_NAMESPACE, entry.code, f"inbox/{entry.feed}: {entry.title.en}"))
    outputs = [table_dataset(t, catalog) for t in _asset_names(task.outlets)]
    return OperatorLineage(inputs=inputs, outputs=outputs)


class ItlakeTaskExtractor(BaseExtractor):
    """Lineage of the @task operators in itlake DAGs; other DAGs' tasks get none from here."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["_PythonDecoratedOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        if not self.operator.dag_id.startswith("itlake"):
            return OperatorLineage()
        return task_lineage(self.operator)
