"""Japanese substring search over job titles and descriptions.

SQLite: an FTS5 table with the trigram tokenizer, kept in step with jobs_job by triggers.
PostgreSQL: pg_trgm GIN indexes on UPPER(title) and UPPER(description), the expressions Django's
icontains compares, so ILIKE-style substring queries use them. Both find 「サーバー移行」 inside
「WordPressサーバー移行作業」, which word-based full-text search (no spaces in Japanese) cannot.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE jobs_job_fts USING fts5("
    "title, description, content='jobs_job', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER jobs_job_fts_insert AFTER INSERT ON jobs_job BEGIN "
    "INSERT INTO jobs_job_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER jobs_job_fts_delete AFTER DELETE ON jobs_job BEGIN "
    "INSERT INTO jobs_job_fts(jobs_job_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER jobs_job_fts_update AFTER UPDATE OF title, description ON jobs_job BEGIN "
    "INSERT INTO jobs_job_fts(jobs_job_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO jobs_job_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "INSERT INTO jobs_job_fts(jobs_job_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS jobs_job_fts_update",
    "DROP TRIGGER IF EXISTS jobs_job_fts_delete",
    "DROP TRIGGER IF EXISTS jobs_job_fts_insert",
    "DROP TABLE IF EXISTS jobs_job_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX jobs_job_title_trgm ON jobs_job USING gin (UPPER(title) gin_trgm_ops)",
    "CREATE INDEX jobs_job_description_trgm ON jobs_job "
    "USING gin (UPPER(description) gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS jobs_job_description_trgm",
    "DROP INDEX IF EXISTS jobs_job_title_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
