"""Two-character search terms (翻訳, 監修): an index of every bigram of a job's text.

See ishibashi/jobs/bigrams.py. SQLite: a contentless FTS5 table fed by triggers calling the
Python function jobs_bigrams(), registered on each connection by JobsConfig.ready() (and here,
for safety). PostgreSQL: a stored generated column of the bigrams of UPPER(title) || ' ' ||
UPPER(description), with a GIN index. A generated column rather than an expression index: a
bitmap scan that also uses a trigram index rechecks every condition on each row, and computing
the bigrams of a 1.2 KB description takes about 0.3 ms, against microseconds to read the array.
"""

from django.db import migrations

from ishibashi.jobs.bigrams import POSTGRES_FUNCTION, register_sqlite_functions

SQLITE_TEXT = "{0}.title || ' ' || {0}.description"
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE jobs_job_bigrams USING fts5("
    "grams, content='', tokenize='ascii', detail='none')",
    "CREATE TRIGGER jobs_job_bigrams_insert AFTER INSERT ON jobs_job BEGIN "
    "INSERT INTO jobs_job_bigrams(rowid, grams) "
    f"VALUES (new.id, jobs_bigrams({SQLITE_TEXT.format('new')})); END",
    "CREATE TRIGGER jobs_job_bigrams_delete AFTER DELETE ON jobs_job BEGIN "
    "INSERT INTO jobs_job_bigrams(jobs_job_bigrams, rowid, grams) "
    f"VALUES ('delete', old.id, jobs_bigrams({SQLITE_TEXT.format('old')})); END",
    "CREATE TRIGGER jobs_job_bigrams_update AFTER UPDATE OF title, description ON jobs_job "
    "BEGIN "
    "INSERT INTO jobs_job_bigrams(jobs_job_bigrams, rowid, grams) "
    f"VALUES ('delete', old.id, jobs_bigrams({SQLITE_TEXT.format('old')})); "
    "INSERT INTO jobs_job_bigrams(rowid, grams) "
    f"VALUES (new.id, jobs_bigrams({SQLITE_TEXT.format('new')})); END",
    "INSERT INTO jobs_job_bigrams(rowid, grams) "
    f"SELECT id, jobs_bigrams({SQLITE_TEXT.format('jobs_job')}) FROM jobs_job",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS jobs_job_bigrams_update",
    "DROP TRIGGER IF EXISTS jobs_job_bigrams_delete",
    "DROP TRIGGER IF EXISTS jobs_job_bigrams_insert",
    "DROP TABLE IF EXISTS jobs_job_bigrams",
]
POSTGRES_FORWARD = [
    POSTGRES_FUNCTION,
    "ALTER TABLE jobs_job ADD COLUMN search_bigrams text[] GENERATED ALWAYS AS "
    "(jobs_bigrams(UPPER(title) || ' ' || UPPER(description))) STORED",
    "CREATE INDEX jobs_job_search_bigrams ON jobs_job USING gin (search_bigrams)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS jobs_job_search_bigrams",
    "ALTER TABLE jobs_job DROP COLUMN IF EXISTS search_bigrams",
    "DROP FUNCTION IF EXISTS jobs_bigrams(text)",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "sqlite":
            schema_editor.connection.ensure_connection()
            register_sqlite_functions(schema_editor.connection.connection)
        with schema_editor.connection.cursor() as cursor:
            for statement in statements_by_vendor.get(vendor, []):
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("jobs", "0003_proposal_revision")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
