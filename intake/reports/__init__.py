"""Reports: summaries computed in SQL, rendered to PDF."""
