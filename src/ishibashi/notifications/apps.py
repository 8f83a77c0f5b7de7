"""Notifications (通知): every notice a user is sent, kept in the app beside the e-mail."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "ishibashi.notifications"
    label = "notifications"
