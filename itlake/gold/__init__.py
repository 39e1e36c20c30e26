"""Gold tables derived from silver: trips, flows and the inputs of publishing and MaaS."""
