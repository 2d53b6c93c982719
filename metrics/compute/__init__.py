"""Compute: metric SQL, OHID statistics, status, suppression and SPC."""
