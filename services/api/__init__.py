"""The REST API (FastAPI). Stays free of torch and mace: it starts in about a second."""
