"""Reviews (評価): double-blind reviews after a contract ends, their facts, replies and counters."""

from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "ishibashi.reviews"
    label = "reviews"
