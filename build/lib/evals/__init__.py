"""Offline evaluation of classification and automation safety, with numbers."""
