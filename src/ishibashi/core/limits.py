"""Every bound the system enforces, each with its reason (TigerBeetle: limit everything)."""

from datetime import timedelta

# Accounts. The display name shows on job cards and reviews; long names break those layouts.
DISPLAY_NAME_LENGTH_MAX = 50
BIO_LENGTH_MAX = 2000
SKILLS_COUNT_MAX = 30
SKILL_LENGTH_MAX = 40
# RFC 5321 caps a path at 256 octets, so no deliverable address is longer than 254.
EMAIL_LENGTH_MAX = 254
# Django's argon2 hasher takes any length, but hashing megabytes is a denial of service.
PASSWORD_LENGTH_MAX = 128

# Log-in throttling: enough tries for a typo-prone person, too few for guessing.
LOGIN_FAILURES_PER_ACCOUNT_MAX = 5
LOGIN_FAILURES_PER_ADDRESS_MAX = 20
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)

# API tokens: a person has a few integrations, not hundreds.
API_TOKENS_PER_USER_MAX = 20
API_TOKEN_NAME_LENGTH_MAX = 60
# Writing last_used_at on every request would turn every read into a write.
API_TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)

# Lists.
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
