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

# Log-in throttling: enough tries for a typo-prone person, too few for guessing, and nothing
# an attacker can spend to lock somebody else out. Failures count over a sliding window; past
# the free tries, each further failure doubles the wait before the next try is even checked.
LOGIN_FAILURE_WINDOW = timedelta(hours=1)
LOGIN_FAILURES_PER_PAIR_FREE = 5  # one account from one address
LOGIN_FAILURES_PER_ADDRESS_FREE = 20  # one address, whatever the accounts
LOGIN_BACKOFF_FIRST = timedelta(minutes=1)
LOGIN_BACKOFF_MAX = timedelta(minutes=15)
# Failures on one account from all addresses that mean someone is after it: the owner is mailed
# an unlock link, and every address that has already failed on it waits LOGIN_BACKOFF_MAX. An
# address that has not failed on it is still checked, so the owner's right password gets in.
LOGIN_FAILURES_ACCOUNT_ALARM = 10
LOGIN_UNLOCK_LINK_AGE = timedelta(hours=24)
# Staff second factor. Five wrong codes per window: with a code valid for three 30-second
# steps, guessing one takes about 10**6 / 3 / 5 windows of 15 minutes, some two years.
SECOND_FACTOR_FAILURES_MAX = 5
SECOND_FACTOR_FAILURE_WINDOW = timedelta(minutes=15)
# A code from the step before or after the server's is accepted: phone clocks drift.
TOTP_VALID_WINDOW_STEPS = 1
TOTP_DIGITS = 6
RECOVERY_CODES_COUNT = 10
# Longer input is not a code; refusing it early keeps the hashing bounded.
SECOND_FACTOR_CODE_LENGTH_MAX = 40

# Sign-up: an office or a family may share an address, a script signing up dozens may not.
SIGNUPS_PER_ADDRESS_MAX = 10
SIGNUP_WINDOW = timedelta(hours=1)
# The "someone tried to sign up with your address" mail, at most this often per address.
SIGNUP_OWNER_MAILS_PER_EMAIL_MAX = 3
# A verification link lives a few days (a person may read mail only at the weekend).
EMAIL_VERIFICATION_MAX_AGE = timedelta(days=3)
# Asking for the verification mail again: a lost mail, not a mail bomb.
VERIFICATION_RESENDS_PER_EMAIL_MAX = 3
VERIFICATION_RESENDS_PER_ADDRESS_MAX = 10
VERIFICATION_RESEND_WINDOW = timedelta(hours=1)
# A new account (younger than this) sends a bounded number of proposals and messages an hour:
# enough for a person starting out, too few for a spam run.
NEW_ACCOUNT_AGE = timedelta(days=7)
NEW_ACCOUNT_PROPOSALS_PER_HOUR = 10
NEW_ACCOUNT_MESSAGES_PER_HOUR = 30
NEW_ACCOUNT_WINDOW = timedelta(hours=1)

# API tokens: a person has a few integrations, not hundreds.
API_TOKENS_PER_USER_MAX = 20
API_TOKEN_NAME_LENGTH_MAX = 60
# Writing last_used_at on every request would turn every read into a write.
API_TOKEN_LAST_USED_RESOLUTION = timedelta(minutes=1)

# Lists.
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100

# Money. One transfer moves at most ¥1,000,000,000: far above any freelance milestone, far
# below where a sum of many such amounts could overflow a 64-bit balance.
TRANSFER_AMOUNT_JPY_MAX = 1_000_000_000
TRANSFER_LEGS_MAX = 8
IDEMPOTENCY_KEY_LENGTH_MAX = 200
ADJUSTMENT_REASON_LENGTH_MAX = 500
# Card networks refuse tiny charges; a deposit above ¥10M is a bank matter, not a card one.
DEPOSIT_AMOUNT_JPY_MIN = 100
DEPOSIT_AMOUNT_JPY_MAX = 10_000_000
PAYOUT_AMOUNT_JPY_MIN = 1
PAYOUT_AMOUNT_JPY_MAX = 10_000_000
# Sweeps act on bounded batches so one round never holds locks for long.
SWEEP_BATCH_MAX = 200

# Jobs. A title fits one line of a job card; a description is a page, not a book.
JOB_TITLE_LENGTH_MAX = 100
JOB_DESCRIPTION_LENGTH_MAX = 10_000
JOB_SCOPE_FIELD_LENGTH_MAX = 4_000
JOB_BUDGET_JPY_MIN = 1_000
JOB_BUDGET_JPY_MAX = 100_000_000
# A recruiting window longer than three months is a stale post (law.md L-40).
JOB_RECRUITING_DAYS_MAX = 90
REVISION_ROUNDS_MAX = 10
# Job search: terms shorter than this cannot use a trigram index and fall back to a scan.
SEARCH_QUERY_LENGTH_MAX = 100
# A search needs one term of this many characters with a letter or a digit in it: a lone
# character, or particles and punctuation (「ま す 。 を へ」), match almost every job and no index
# can find them, so they are refused rather than scanned (issue 11).
SEARCH_TERM_LENGTH_MIN = 2
# Each statement of a search gets this long (PostgreSQL statement_timeout, SQLite a progress
# handler). A search takes under 50 ms at p95 on 100,000 jobs (bench/README.md); one that runs
# 20 times longer is a shape the indexes cannot serve or a server that is overloaded, and holding
# a worker and a core for it any longer only slows every other request.
SEARCH_STATEMENT_TIMEOUT = timedelta(seconds=1)
# Searches (with a text) per client address per minute without logging in, per user when logged
# in. A person reading results searches a few times a minute; 30 leaves room for paging and
# refining, and bounds what one address can cost (30 x 50 ms = 1.5 s of database time a minute).
# Logged-in users get more: an account is known, and people behind one office or mobile address
# (shared NAT) are told apart once they log in. Not unlimited: an account is free to make.
SEARCH_ANONYMOUS_PER_WINDOW_MAX = 30
SEARCH_USER_PER_WINDOW_MAX = 120
SEARCH_THROTTLE_WINDOW = timedelta(minutes=1)
# Proposals.
COVER_LETTER_LENGTH_MAX = 5_000
PROPOSAL_MILESTONES_MAX = 12
MILESTONE_TITLE_LENGTH_MAX = 100
MILESTONE_AMOUNT_JPY_MIN = 500
MILESTONE_AMOUNT_JPY_MAX = 10_000_000
# A plan reaching further than two years out is a guess, not a due date.
MILESTONE_DUE_DAYS_MAX = 730
CONSULTATION_AMOUNT_JPY_MAX = 50_000
MESSAGE_LENGTH_MAX = 5_000
DECLINE_REASON_LENGTH_MAX = 500
# Contracts. A delivery message or a reason is a letter, not a document; files carry the work.
DELIVERY_MESSAGE_LENGTH_MAX = 5_000
DELIVERY_FILE_NAME_LENGTH_MAX = 150
REASON_LENGTH_MAX = 2_000
CONTRACT_MESSAGE_LENGTH_MAX = 5_000
CHANGE_MESSAGE_LENGTH_MAX = 5_000
CHANGE_MILESTONES_MAX = 12
# Reviews (評価). Both parties may review for 14 days after the contract ends (product spec):
# long enough for a person away for a week, short enough that a review still describes the work.
REVIEW_WINDOW = timedelta(days=14)
# A review is a few sentences someone can act on; a bare "ok" tells the next reader nothing.
REVIEW_TEXT_LENGTH_MIN = 10
REVIEW_TEXT_LENGTH_MAX = 2_000
REVIEW_REPLY_LENGTH_MAX = 1_000
REVIEW_SCORE_MIN = 1
REVIEW_SCORE_MAX = 5
# The newest reviews shown on a profile page; the rest are on the reviews list.
REVIEWS_ON_PROFILE = 5
# Review prompts on マイページ: more than this many due at once is a backlog, shown on the list.
REVIEW_PROMPTS_MAX = 20
