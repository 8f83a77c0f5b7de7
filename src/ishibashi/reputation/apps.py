"""Reputation: the client's reliability profile (発注者の安心度) and the worker's track record."""

from django.apps import AppConfig


class ReputationConfig(AppConfig):
    name = "ishibashi.reputation"
    label = "reputation"

    def ready(self) -> None:
        from ishibashi.core.slots import slot_data_register, slot_register
        from ishibashi.reputation import views

        # The job pages (jobs) and the public profile (accounts) sit below this app: they ask
        # these slots by name and never import it.
        slot_register("client_reliability", views.render_client_reliability)
        slot_register("client_reliability_summary", views.render_client_reliability_summary)
        slot_register("profile_sections", views.render_profile_sections)
        slot_data_register("client_reliability", views.client_reliability_data)
