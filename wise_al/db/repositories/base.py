"""What every repository shares: the session it queries through."""

from __future__ import annotations

from sqlalchemy.orm import Session


class Repository:
    """Queries on one aggregate.

    Parameters
    ----------
    session
        An open session; the caller owns the transaction.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
