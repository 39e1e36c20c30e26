"""SQLite connect arguments for the Airflow processes of the slow tests: four processes share one
database file, so a writer waits up to a minute for the lock instead of failing after 5 s."""

CONNECT_ARGS = {"timeout": 60}
