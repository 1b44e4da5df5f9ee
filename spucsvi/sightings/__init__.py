"""A sighting's write path: what it must be (`validation`), sending it to SPUC
one at a time (`submission`), and finding SPUC's record of it (`recorded`).

SPUC writes its clock's time without a zone; the columns convert it to UTC
once, as they read the file. Everything here and after works in that UTC
time (`Recorded.time_utc`), and converts nothing again.
"""
