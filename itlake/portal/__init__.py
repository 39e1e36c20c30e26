"""The open-data portal: a static site built from the release folders and the catalogue."""
