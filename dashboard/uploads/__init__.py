"""Uploaded logs: the content-addressed store (``store``)."""
