"""Jobs: postings (案件), proposals (提案), pre-contract messages and hiring."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "ishibashi.jobs"
    label = "jobs"

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        from ishibashi.jobs.bigrams import on_connection_created

        # The SQLite triggers of migration 0004 call jobs_bigrams(): every connection needs it.
        connection_created.connect(on_connection_created, dispatch_uid="jobs_bigrams")
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                on_connection_created(sender=type(connection), connection=connection)
