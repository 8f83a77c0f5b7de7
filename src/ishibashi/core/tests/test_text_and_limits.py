"""Text cleaning and limits: the bounds the rest of the system relies on."""

import pytest

from ishibashi.core import limits
from ishibashi.core.errors import ApplicationError
from ishibashi.core.text import clean_text


def test_limits_relate_sensibly():
    assert limits.PAGE_SIZE_DEFAULT <= limits.PAGE_SIZE_MAX
    # A person's typos on one account never trip the alarm that mails them; one address gets
    # more tries across accounts (an office behind one NAT) than one account gets from it.
    assert limits.LOGIN_FAILURES_PER_PAIR_FREE < limits.LOGIN_FAILURES_ACCOUNT_ALARM
    assert limits.LOGIN_FAILURES_ACCOUNT_ALARM < limits.LOGIN_FAILURES_PER_ADDRESS_FREE
    assert limits.LOGIN_BACKOFF_FIRST < limits.LOGIN_BACKOFF_MAX <= limits.LOGIN_FAILURE_WINDOW


def test_clean_text_keeps_newlines_only_where_allowed():
    assert (
        clean_text(" 一行目\n二行目 ", field="bio", length_max=20, multiline=True)
        == "一行目\n二行目"
    )
    with pytest.raises(ApplicationError):
        clean_text("一行目\n二行目", field="name", length_max=20)


@pytest.mark.parametrize("value", ["\x00", "abc\x1b", "\ud800"])
def test_clean_text_refuses_what_the_database_cannot_store(value):
    with pytest.raises(ApplicationError) as refusal:
        clean_text(value, field="name", length_max=20)

    assert refusal.value.field == "name"
