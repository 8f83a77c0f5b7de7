"""require(): an assertion that survives `python -O` and turns a broken invariant into a crash."""


class InvariantViolation(AssertionError):
    """A bug, never an expected refusal: it is not caught, and it rolls the transaction back."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
