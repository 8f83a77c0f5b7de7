"""Proposal.revision: the version of the plan, raised each time the worker revises it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0002_job_search'),
    ]

    operations = [
        migrations.AddField(
            model_name='proposal',
            name='revision',
            field=models.PositiveIntegerField(default=1),
        ),
    ]
