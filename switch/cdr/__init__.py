"""Call detail records: one per call attempt, written off the packet path, never lost."""
