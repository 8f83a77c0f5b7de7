"""Database triggers that refuse UPDATE (and on PostgreSQL, DELETE) of transfers and entries.

The service layer never changes a transfer; the trigger makes the database say no as well
(a paired assertion). SQLite gets no DELETE trigger because Django's test flush empties tables
with DELETE; PostgreSQL's flush uses TRUNCATE, which row triggers do not see.
"""

from django.db import migrations

TABLES = ("ledger_transfer", "ledger_entry")


def create_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in TABLES:
                cursor.execute(
                    f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END;"
                )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END; "
                "$$ LANGUAGE plpgsql;"
            )
            for table in TABLES:
                cursor.execute(
                    f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();"
                )


def drop_triggers(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            if schema_editor.connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable")
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
