"""Public (respondent) side: the form list, forms, submission, receipt, embedding.

The blueprint is in `blueprint.py`; intake/routes.py imports the modules that add
its URL rules (here, and the invitation links of intake/invitations/views.py).
"""
