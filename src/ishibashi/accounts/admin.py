"""Operator admin for accounts (the console proper comes with the operator app)."""

from django.contrib import admin
from django.http import HttpRequest

from ishibashi.accounts.models import (
    ApiToken,
    LoginFailure,
    SecondFactorFailure,
    TotpDevice,
    User,
)


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ("email", "display_name", "entity_type", "is_client", "is_worker", "created_at")
    search_fields = ("email", "display_name")
    list_filter = ("entity_type", "is_client", "is_worker", "is_staff")
    exclude = ("password",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix", "second_factor_verified")


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin[LoginFailure]):
    list_display = ("email", "ip_address", "created_at")


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin[TotpDevice]):
    """Who has two-factor on. Deleting a colleague's device (lost phone and recovery codes) sends
    them to enrolment at their next log-in; the secret is never shown."""

    list_display = ("user", "created_at", "confirmed_at")
    exclude = ("secret",)
    readonly_fields = ("user", "created_at", "confirmed_at", "last_used_step")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SecondFactorFailure)
class SecondFactorFailureAdmin(admin.ModelAdmin[SecondFactorFailure]):
    list_display = ("user", "ip_address", "created_at")
