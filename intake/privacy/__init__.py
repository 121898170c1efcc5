"""Data protection (DSGVO): retention and purge (retention.py), the rights of the people
in the data (rights.py), and the record of processing (records.py). Plain modules with
no `request`: the back office and the CLI share them."""
