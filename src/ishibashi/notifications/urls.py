"""Notification pages."""

from django.urls import path

from ishibashi.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list_view, name="list"),
    path("read/", views.notifications_read_view, name="read"),
    path("<int:notification_id>/open/", views.notification_open_view, name="open"),
]
