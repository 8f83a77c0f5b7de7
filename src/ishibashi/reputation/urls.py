"""The public help page on the reliability profile."""

from django.urls import path

from ishibashi.reputation import views

app_name = "reputation"

urlpatterns = [
    path("reliability/", views.reliability_help_view, name="help"),
]
