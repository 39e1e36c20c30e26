"""The catalogue and what it decides: resource entries (resources), data contracts (contracts), units
of measure (units), the publication policy (policy) and the DCAT-AP export (dcat). Every stage reads
it; it reads none of them."""
