"""Privacy and security: keyed pseudonyms (pseudonyms), erasure on request, the scan for personal
identifiers in what leaves the lake (pii_scan) and the security scan inside it (security_scan)."""
