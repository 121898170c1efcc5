"""Storage: the typed SQLAlchemy models and database set-up."""
