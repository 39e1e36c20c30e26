"""The lake: Spark sessions, table paths by layer, Delta write helpers and the _system tables."""
