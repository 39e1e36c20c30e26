"""Delta Sharing for conditional sharing: recipients with tokens, shares from the catalogue, a server."""
