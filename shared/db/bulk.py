"""Many rows into one table in the caller's transaction, as fast as the backend allows.

On PostgreSQL the rows are streamed with `COPY ... FROM STDIN`: no statement
to parse per row, nor one giant statement for the driver to rewrite. SQLite
is in the same process, where one prepared INSERT run per row is already cheap.
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
    from psycopg.types.json import Json

    names = list(rows[0])
    as_json = [isinstance(table.c[name].type, sa.JSON) for name in names]
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(n) for n in names)
    statement = f"COPY {table.name} ({quoted}) FROM STDIN"

    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = [row[name] for name in names]
                for index, wrap in enumerate(as_json):
                    if wrap and values[index] is not None:
                        values[index] = Json(values[index])
                copy.write_row(values)
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
