"""Publish: charts, workbooks, HTML scorecards and the manifest."""
