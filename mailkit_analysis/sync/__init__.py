"""Sync: the fetch jobs that use the Mailkit client and the cache together."""
