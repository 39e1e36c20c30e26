"""The catalogue and what it decides: resource entries (resources), data contracts (contracts), units
of measure (units) and the DCAT-AP export (dcat). Every other stage reads it; it reads none of them."""
