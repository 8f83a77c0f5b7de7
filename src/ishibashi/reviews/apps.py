"""Reviews (評価): double-blind reviews after a contract ends, their facts, replies and counters."""

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "ishibashi.reviews"
    label = "reviews"

    def ready(self) -> None:
        from ishibashi.core.slots import slot_register
        from ishibashi.reviews import sections

        # The contract page (contracts) and the profiles (accounts) sit below this app: they ask
        # these slots by name and never import it. On a profile the reliability comes first.
        slot_register("contract_sections", sections.render_contract_reviews)
        slot_register("profile_sections", sections.render_profile_reviews, order=60)
        slot_register("my_page_to_do", sections.render_review_prompts)
