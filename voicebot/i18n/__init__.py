"""Translations and local formats of everything staff read (pages, CSV, display fields)."""
