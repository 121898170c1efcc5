"""Coordinator back office: login, dashboard, forms, responses, reports, exports, users.

The blueprint is in `blueprint.py`; intake/routes.py imports the modules that add
its URL rules (here and in the feature packages: kiosk, invitations).
"""
