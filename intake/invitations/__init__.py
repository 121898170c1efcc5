"""Personal invitations: lists of people (lists.py) and the emails with their links
(sending.py). The invitations themselves are stored by intake.storage.invitations."""
