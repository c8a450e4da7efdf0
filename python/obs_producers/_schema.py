"""A new obs database, made from the statements obs's migrations produce (obs_schema.json).

The file is generated from src/db/migrations.ts by ``npm run gen:python`` and checked by a
test, so a database this package creates is the one ``obs init`` would create.
"""

import json
import os
import sqlite3
import time

_HERE = os.path.dirname(os.path.abspath(__file__))


def load_schema():
    with open(os.path.join(_HERE, "obs_schema.json"), encoding="utf-8") as f:
        return json.load(f)


def schema_version(conn):
    """The schema version a database records (0 when obs has not written it)."""
    try:
        row = conn.execute("SELECT value FROM obs_meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


def has_tables(conn):
    return conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchone()[0] > 0


def wal_mode(conn, timeout):
    """Puts the file in WAL mode, waiting for another process doing the same. Switching turns a
    read into a write, which SQLite never waits for (whatever the connection's timeout), so a
    second process opening a new file while the first switches it is refused at once ("database
    is locked"). It tries again for up to `timeout` seconds; by then the first has switched the
    file, and the switch has nothing left to do. As obs's own openWritable does."""
    until = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "database is locked" not in str(e) or time.monotonic() >= until:
                raise
        time.sleep(0.01)


def create_schema(conn, timeout=5):
    """Gives an empty database obs's whole schema, in one transaction; a database that already
    has tables is left as it is (obs itself migrates its files). Returns True when it created."""
    schema = load_schema()
    conn.execute("PRAGMA page_size = %d" % int(schema["page_size"]))
    if schema.get("journal_mode") == "wal":
        wal_mode(conn, timeout)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Under the write lock: another process may have made it meanwhile.
        if has_tables(conn):
            conn.execute("ROLLBACK")
            return False
        for statement in schema["statements"]:
            conn.execute(statement)
        conn.execute("COMMIT")
        return True
    except BaseException:
        conn.execute("ROLLBACK")
        raise
