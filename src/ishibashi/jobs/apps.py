"""Jobs: postings (案件), proposals (提案), pre-contract messages and hiring."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "ishibashi.jobs"
    label = "jobs"
