"""Publishing: what may leave the lake (the gate), the open datasets, and versioned releases."""
