"""Analysis of cached results: summaries, flags, domains, recipients, windows."""
