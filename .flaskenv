# Read by the flask command in this checkout (python-dotenv). Production sets
# INTAKE_ENVIRONMENT=production and INTAKE_SECRET_KEY in the real environment,
# which takes precedence over this file.
FLASK_APP=intake
INTAKE_ENVIRONMENT=development
