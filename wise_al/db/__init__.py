"""Persistence: typed models, engines and sessions, migrations, repositories (all queries)."""
