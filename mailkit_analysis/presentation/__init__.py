"""Presentation: charts, colours, tables, notebooks and rendered reports."""
