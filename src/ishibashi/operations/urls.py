"""Operator console routes."""

from django.urls import path

from ishibashi.operations import views

app_name = "operations"

urlpatterns = [path("books/", views.books_view, name="books")]
