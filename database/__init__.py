"""The SQL database DATABASE_URL names, shared by the question log (insights/) and, on PostgreSQL, the
article library (index/): its engine and the one chain of Alembic migrations for every table.
Imports neither index nor insights (only the migrations' entry point sees their tables)."""
