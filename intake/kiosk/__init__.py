"""Events and their kiosk tablets, the whole feature in one folder.

`store.py` (events, kiosk links and staff PINs), `queue.py` (answers from a
tablet's offline queue or its staff file, the page stamp of a closed kiosk),
`views.py` (the tablet's pages under `/k/`), `pins.py` (wrong staff PINs),
`admin.py` (the back office pages), `cli.py` (`flask --app intake events ...`).
Answers are stored through intake/submissions.py like every other channel's.
"""
