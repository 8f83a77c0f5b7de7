"""A task defined for the worker test (tasks must live at module level)."""

from django_tasks import task


@task()
def record_greeting(greeting: str) -> str:
    return f"{greeting}!"
