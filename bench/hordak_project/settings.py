"""The least a Django project needs to run django-hordak (benchmark only; not Ishibashi's).

Hordak's docs ask for `mptt` and `hordak` in INSTALLED_APPS; its models use django-money's
MoneyField, so `djmoney` is listed too. Amounts are yen, like Ishibashi's.
"""

import os

import dj_database_url

SECRET_KEY = "hordak-benchmark-only"  # never served: the project has no URLs
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Tokyo"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mptt",
    "djmoney",
    "hordak",
]
DATABASES = {
    "default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_CURRENCY = "JPY"
CURRENCIES = ["JPY"]
HORDAK_INTERNAL_CURRENCY = "JPY"
HORDAK_CURRENCIES = ["JPY"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
