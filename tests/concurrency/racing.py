"""race(): run one piece of work in many threads at once, each on its own connection."""

import threading

from django.db import connection

from ishibashi.core.errors import ApplicationError


def race(count, work):
    """Run work(n) for n in 0..count-1, one thread each, released together by a barrier.

    Returns one ("ok", value) or ("refused", ApplicationError) per thread, in thread order.
    Anything else a thread raised (a deadlock, "database is locked") fails the test.
    """
    barrier = threading.Barrier(count)
    outcomes = [None] * count
    unexpected = []

    def run(n):
        try:
            barrier.wait(timeout=10)
            outcomes[n] = ("ok", work(n))
        except ApplicationError as refusal:
            outcomes[n] = ("refused", refusal)
        except Exception as error:  # a database error here is the bug this test looks for
            unexpected.append((n, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert unexpected == []
    return outcomes
