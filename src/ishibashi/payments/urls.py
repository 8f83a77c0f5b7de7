"""Wallet page routes."""

from django.urls import path

from ishibashi.payments import views

app_name = "payments"

urlpatterns = [
    path("", views.wallet_view, name="wallet"),
    path("deposit/", views.deposit_view, name="deposit"),
    path("deposits/<int:deposit_id>/", views.deposit_detail_view, name="deposit_detail"),
    path(
        "deposits/<int:deposit_id>/sandbox-arrive/",
        views.sandbox_arrive_view,
        name="sandbox_arrive",
    ),
    path("payout/", views.payout_view, name="payout"),
]
