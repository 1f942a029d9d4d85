"""API plumbing shared by every app: the error shape (filled in with the API)."""
