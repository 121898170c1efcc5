"""Personal invitations, the whole feature in one folder.

`store.py` (signed links, states, the one response per invitation), `lists.py`
(reading a list of people from CSV/XLSX), `sending.py` (the emails, in the
background), `views.py` (the person's link `/i/<token>`), `admin.py` (the back
office pages), `cli.py` (`flask --app intake invitations ...`). Answers are
stored through intake/submissions.py like every other channel's.
"""
