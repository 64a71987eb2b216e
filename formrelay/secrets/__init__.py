"""Secret documents: one JSON object per name, cached reads, compare-and-swap writes."""
