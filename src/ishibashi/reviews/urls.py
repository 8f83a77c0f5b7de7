"""Review page routes, beside the contract and the profile they belong to."""

from django.urls import path

from ishibashi.reviews import views

app_name = "reviews"

urlpatterns = [
    path("contracts/<int:contract_id>/review/", views.review_submit_view, name="submit"),
    path("users/<int:user_id>/reviews/", views.user_reviews_view, name="user_reviews"),
    path("reviews/<int:review_id>/reply/", views.review_reply_view, name="reply"),
]
