"""Width-fold the title and description of the jobs written before the search folded them.

The search indexes follow by themselves: SQLite's triggers (migrations 0002, 0004) and
PostgreSQL's generated bigram column and expression indexes are computed from these columns.
"""

from django.db import migrations

from ishibashi.core.text import fold_width
from ishibashi.jobs.bigrams import register_sqlite_functions


def fold(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        # The bigram triggers call jobs_bigrams(), as in migration 0004.
        schema_editor.connection.ensure_connection()
        register_sqlite_functions(schema_editor.connection.connection)
    Job = apps.get_model("jobs", "Job")
    for job in Job.objects.only("id", "title", "description").iterator(chunk_size=500):
        title, description = fold_width(job.title), fold_width(job.description)
        if (title, description) != (job.title, job.description):
            Job.objects.filter(pk=job.pk).update(title=title, description=description)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0007_job_budget_sort_index")]
    operations = [migrations.RunPython(fold, migrations.RunPython.noop)]
