"""Account page routes."""

from django.urls import path

from ishibashi.accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup_view, name="signup"),
    path("verify-email/resend/", views.verification_resend_view, name="verification_resend"),
    path("verify-email/<str:token>/", views.verify_email_view, name="verify_email"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/edit/", views.profile_edit_view, name="profile_edit"),
    path("password/", views.password_change_view, name="password_change"),
    path("password/reset/", views.password_reset_view, name="password_reset"),
    path(
        "password/reset/<str:uidb64>/<str:token>/",
        views.password_reset_confirm_view,
        name="password_reset_confirm",
    ),
    path("login/unlock/<str:token>/", views.login_unlock_view, name="login_unlock"),
    path("tokens/", views.api_tokens_view, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("two-factor/", views.two_factor_view, name="two_factor"),
    path("security/", views.security_view, name="security"),
    path("users/<int:user_id>/", views.public_profile_view, name="public_profile"),
]
