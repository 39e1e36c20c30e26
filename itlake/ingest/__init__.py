"""Ingest: files from the inbox landed, read into bronze and promoted to silver (flow, promote), one
resource at a time as the jobs and the command line call it (pipeline)."""
