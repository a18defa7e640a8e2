"""Many rows into one table in the caller's transaction, as fast as the backend allows.

On PostgreSQL the rows are streamed with `COPY ... FROM STDIN` in the binary
format: no statement to parse per row, nor one giant statement for the driver
to rewrite, and no value turned into text on one side and parsed on the
other (an outbox envelope, as text, is twice its size in hex). SQLite is in
the same process, where one prepared INSERT run per row is already cheap.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import ARRAY


def insert_rows(
    connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert `rows` (dicts naming the same columns) into `table`, in order.

    Columns the rows leave out take their defaults, an autoincrement key its
    next values in the order of `rows`.
    """
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), rows)
        return

    import psycopg

    names = list(rows[0])
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(n) for n in names)
    statement = f"COPY {table.name} ({quoted}) FROM STDIN (FORMAT BINARY)"

    driver = connection.connection.driver_connection
    assert driver is not None
    types = _column_types(driver, table.name)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types([types[name] for name in names])
            for row in rows:
                copy.write_row([row[name] for name in names])
    except psycopg.errors.IntegrityError as clash:
        # Past SQLAlchemy, so translate as it would: callers catch its class.
        raise sa.exc.IntegrityError(statement, None, clash) from clash


def among(column: Any, values: Sequence[Any], dialect: str) -> sa.ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `= ANY(array)`, a single parameter.

    psycopg rewrites a statement's placeholders before sending it, which for
    hundreds of values costs more than the query itself.
    """
    if dialect != "postgresql":
        return column.in_(values)  # type: ignore[no-any-return]
    element = sa.Uuid() if isinstance(column.type, sa.Uuid) else sa.String()
    return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(element)))  # type: ignore[no-any-return]


_TYPES: dict[str, dict[str, int]] = {}


def _column_types(driver: Any, table: str) -> dict[str, int]:
    """The type OID of each of `table`'s columns, read once per process."""
    types = _TYPES.get(table)
    if types is None:
        query = (
            "SELECT attname, atttypid FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        )
        with driver.cursor() as cursor:
            types = _TYPES[table] = dict(cursor.execute(query, (table,)).fetchall())
    return types
