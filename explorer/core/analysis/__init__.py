"""Image analysis: dive-compatible efficiency and our own reclaimable-bytes measure."""
