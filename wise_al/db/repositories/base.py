"""What every repository shares: its session, get-by-id, and the one paginator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from wise_al.db.base import Base
from wise_al.errors import NotFoundError

T = TypeVar("T")
Row = TypeVar("Row", bound=Base)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, with the total count for pagers."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, query: Select[Any], limit: int, offset: int) -> Page[Any]:
    """One page of an ordered ``query`` and the number of rows it matches in all.

    The count runs on the query without its order or paging, so every list route pages the
    same way and reports the same ``total``.
    """
    counted = query.order_by(None).limit(None).offset(None)
    total = session.scalar(select(func.count()).select_from(counted.subquery()))
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return Page(items, int(total or 0), limit, offset)


class Repository(Generic[Row]):
    """Queries on one aggregate.

    Parameters
    ----------
    session
        An open session; the caller owns the transaction.
    """

    #: The aggregate's root table; ``get`` and ``paginate`` read it.
    model: ClassVar[type[Base]]
    #: How an error message names one row ("campaign 3 does not exist").
    noun: ClassVar[str] = "row"

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, row_id: int, *, for_update: bool = False) -> Row:
        """The row with this id (locked if asked); :class:`NotFoundError` if there is none."""
        query = select(self.model).where(self.model.id == row_id)  # type: ignore[attr-defined]
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).one_or_none()
        if row is None:
            raise NotFoundError(f"{self.noun} {row_id} does not exist")
        return row  # type: ignore[return-value]

    def paginate(self, query: Select[Any], limit: int, offset: int) -> Page[Row]:
        """One page of ``query`` (see :func:`paginate`)."""
        return paginate(self.session, query, limit, offset)
