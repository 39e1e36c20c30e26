"""MaaS demand-supply matching tables (gold): demand, supply and their balance by zone and time."""
