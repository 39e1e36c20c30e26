"""itlake: an integrated transport data lake.

Feeds are ingested by Airflow 3 DAGs into a Delta Lake organised by the information resource
catalogue, checked for quality, and turned into open datasets and MaaS demand-matching tables.
Data flows one way: feeds -> lake -> quality -> gold (publish, maas) -> serving.
"""

__version__ = "0.1.0"
