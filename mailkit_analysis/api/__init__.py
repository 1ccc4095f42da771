"""Talking to Mailkit: one HTTP session, the client, the wire codecs, results parsing."""
