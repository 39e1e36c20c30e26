"""Running the stages: the Airflow DAGs' shared parts and lineage (the only modules that import
Airflow), the jobs in jobs/ (runner, submit) and the derived steps they build (steps)."""
