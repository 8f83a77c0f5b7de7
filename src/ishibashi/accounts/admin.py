"""Operator admin for accounts (the console proper comes with the operator app)."""

from django.contrib import admin

from ishibashi.accounts.models import ApiToken, LoginFailure, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ("email", "display_name", "entity_type", "is_client", "is_worker", "created_at")
    search_fields = ("email", "display_name")
    list_filter = ("entity_type", "is_client", "is_worker", "is_staff")
    exclude = ("password",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin[LoginFailure]):
    list_display = ("email", "ip_address", "created_at")
