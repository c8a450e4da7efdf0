"""The machinery under the four producer classes (src/producers/record.ts in TypeScript).

One record of an execution, written twice: as obs events appended to
``$OBS_TRANSCRIPTS/{execution_id}/unified.jsonl`` and as rows in the database (``$OBS_DB``,
else ``./obs.db``), folded from the very lines that go to the file, so that ``obs ingest`` of
the file into an empty database gives the same rows, and into this one adds nothing.

Sequences come from a counter beside the JSONL (``unified.seq``, a small SQLite file shared with
the TypeScript producers): each entry takes the next one inside an IMMEDIATE transaction,
together with its timestamp, so writers in several threads and processes — Python or Node —
get distinct, gap-free sequences in the order of their timestamps.

The producers never take the agent down: a database that is locked or cannot be opened is
tried again at each flush, said once on stderr, and the JSONL goes on being written;
``obs ingest`` brings a database up to date from it later.
"""

import atexit
import datetime
import json
import os
import sqlite3
import sys
import threading
import uuid
import weakref

from ._fold import fold_lines
from ._jsjson import js_stringify, jsonable
from ._schema import create_schema, has_tables, wal_mode

DEFAULT_FLUSH_INTERVAL = 1.0
#: Lines waiting for a database that cannot be written are kept up to this many; then the file alone carries the record.
MAX_PENDING_LINES = 200000

_said = set()
_said_lock = threading.Lock()


def report_once(key, message, report=None):
    """Says a problem once per database and kind, on stderr (or to `report`)."""
    with _said_lock:
        if key in _said:
            return
        _said.add(key)
    text = "obs producer: %s\n" % message
    if report is not None:
        report(text)
    else:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except Exception:
            pass


def default_db_path():
    return os.environ.get("OBS_DB") or "obs.db"


def default_transcripts_dir():
    return os.environ.get("OBS_TRANSCRIPTS") or "transcripts"


def execution_dir(execution_id):
    """An execution id as one directory name: characters that could leave the folder are %-escaped."""
    out = []
    for c in execution_id:
        if c.isascii() and (c.isalnum() or c in "._-"):
            out.append(c)
        else:
            out.extend("%%%02X" % b for b in c.encode("utf-8"))
    safe = "".join(out)
    return safe.replace(".", "%2E") if safe in (".", "..") else safe


def iso_now():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def new_id():
    """A new id (a UUID, as seed 000's interface says)."""
    return str(uuid.uuid4())


def _connect(path, timeout):
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    return conn


def _max_sequence_in_jsonl(path, execution_id):
    best = 0
    try:
        with open(path, "rb") as f:
            for raw in f:
                if b'"sequence"' not in raw:
                    continue
                try:
                    o = json.loads(raw)
                except ValueError:
                    continue
                seq = o.get("sequence") if isinstance(o, dict) else None
                if o.get("execution_id") == execution_id and isinstance(seq, int) and not isinstance(seq, bool):
                    best = max(best, seq)
    except OSError:
        return 0
    return best


def _max_sequence_in_db(db_path, execution_id):
    if not os.path.exists(db_path):
        return 0
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % _uri_path(db_path), uri=True, timeout=2)
        try:
            row = conn.execute("SELECT MAX(sequence) FROM transcript_entries WHERE execution_id = ?", (execution_id,)).fetchone()
            return row[0] or 0
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _uri_path(path):
    from urllib.parse import quote

    return quote(os.path.abspath(path))


class SequenceCounter:
    """The per-execution counter beside the JSONL (see the top of this module)."""

    def __init__(self, path, execution_id, seed):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path = path
        self.execution_id = execution_id
        self._seed = seed
        self._lock = threading.Lock()
        self._conn = _connect(path, 30)
        # WAL: a commit is an append (about 30 us, against 125 us with a rollback journal), and a
        # kill mid-transaction loses nothing committed. Node and Python writers share the file, so
        # both use the same mode. The counter is rebuilt from the JSONL and database if it is lost.
        wal_mode(self._conn, 30)
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS sequences (execution_id TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL, last_timestamp TEXT NOT NULL)"
        )

    def next(self):
        """The next sequence of the execution and its timestamp (never earlier than the last one's)."""
        with self._lock:
            now = iso_now()
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                row = c.execute("SELECT last_sequence, last_timestamp FROM sequences WHERE execution_id = ?", (self.execution_id,)).fetchone()
                last = row[0] if row else self._seed()
                ts = row[1] if row and row[1] > now else now
                c.execute(
                    "INSERT INTO sequences (execution_id, last_sequence, last_timestamp) VALUES (?, ?, ?) "
                    "ON CONFLICT(execution_id) DO UPDATE SET last_sequence = excluded.last_sequence, last_timestamp = excluded.last_timestamp",
                    (self.execution_id, last + 1, ts),
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return last + 1, ts

    def current(self):
        with self._lock:
            row = self._conn.execute("SELECT last_sequence FROM sequences WHERE execution_id = ?", (self.execution_id,)).fetchone()
            return row[0] if row else self._seed()

    def close(self):
        with self._lock:
            self._conn.close()


#: The tables whose ids the record names, and the column saying which execution a row is of.
OWNER_COLUMN = {
    "tasks": "execution_id",
    "build_agent_instances": "execution_id",
    "parallel_execution_waves": "execution_run_id",
    "tool_uses": "execution_id",
}


class DatabaseSink:
    """The database copy: lines folded as obs ingest folds them, retried while the file cannot be written."""

    def __init__(self, db_path, jsonl_path, report):
        self.db_path = db_path
        self.jsonl_path = jsonl_path
        self._report = report
        self._conn = None
        self.pending = []
        self._failing = False
        self.gave_up = False

    def _open(self):
        if self._conn is None:
            parent = os.path.dirname(os.path.abspath(self.db_path))
            if not os.path.isdir(parent):
                raise OSError("the directory %s does not exist" % parent)
            new = not os.path.exists(self.db_path) or os.path.getsize(self.db_path) == 0
            conn = _connect(self.db_path, 2)
            try:
                conn.execute("PRAGMA foreign_keys = OFF")
                if new or not has_tables(conn):
                    create_schema(conn, 2)
                else:
                    wal_mode(conn, 2)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def write(self, lines):
        """Queues lines for the database and writes all that are queued; False when they wait for a later try."""
        if self.gave_up:
            return False
        self.pending.extend(lines)
        if not self.pending:
            return True
        try:
            fold_lines(self._open(), "producer:%s" % self.jsonl_path, self.pending)
        except (sqlite3.Error, OSError) as e:
            self.close()
            self._failing = True
            permanent = isinstance(e, sqlite3.DatabaseError) and "not a database" in str(e)
            # An older obs database lacks what the producers write: obs init migrates it.
            older = isinstance(e, sqlite3.OperationalError) and ("no such table" in str(e) or "no such column" in str(e))
            report_once(
                "fail:%s" % self.db_path,
                "cannot write %s (%s); the record goes on in %s%s — %s`obs ingest %s` brings a database up to date"
                % (self.db_path, e, self.jsonl_path, "" if permanent else ", and the database is tried again at each flush",
                   "`obs init --db %s` migrates it, then " % self.db_path if older else "", self.jsonl_path),
                self._report,
            )
            if permanent or len(self.pending) > MAX_PENDING_LINES:
                self.gave_up = True
                self.pending = []
            return False
        if self._failing:
            report_once("back:%s" % self.db_path, "%s is written again; %d waiting line(s) caught up" % (self.db_path, len(self.pending)), self._report)
        self._failing = False
        self.pending = []
        return True

    def has(self, table, row_id):
        """Whether the database has a row of `table` with this id; None when it cannot be read."""
        if self.gave_up:
            return None
        try:
            return self._open().execute("SELECT 1 FROM %s WHERE id = ?" % table, (row_id,)).fetchone() is not None
        except (sqlite3.Error, OSError):
            self.close()
            return None

    def owner_of(self, table, row_id):
        """(found, execution) of the row of `table` with this id; (False, None) when there is none or no database to read."""
        if self.gave_up:
            return False, None
        try:
            row = self._open().execute("SELECT %s FROM %s WHERE id = ?" % (OWNER_COLUMN[table], table), (row_id,)).fetchone()
        except (sqlite3.Error, OSError):
            self.close()
            return False, None
        return (True, row[0]) if row else (False, None)

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None


class JsonlFile:
    """The JSONL copy, appended a batch at a time (one write, so batches of several processes never interleave)."""

    def __init__(self, path, report):
        self.path = path
        self._report = report
        self._fd = None
        self.pending = []

    def append(self, lines):
        self.pending.extend(lines)
        if not self.pending:
            return
        try:
            if self._fd is None:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            data = ("\n".join(self.pending) + "\n").encode("utf-8")
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            self.pending = []
        except OSError as e:
            report_once("jsonl:%s" % self.path, "cannot append to %s (%s); its lines are kept and tried again at each flush" % (self.path, e), self._report)
            self.close()

    def close(self):
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


_open_recorders = weakref.WeakSet()


@atexit.register
def _close_all():
    # Writers still open when the interpreter exits are flushed then: the record keeps what was written.
    for r in list(_open_recorders):
        try:
            r.close()
        except Exception:
            pass


class Recorder:
    """Everything a TranscriptWriter and the producers built on it share: stamps, lines, files."""

    def __init__(self, execution_id, instance_id, wave_id=None, db_path=None, transcripts_dir=None,
                 flush_interval=DEFAULT_FLUSH_INTERVAL, database=True, report=None):
        if not isinstance(execution_id, str) or execution_id == "":
            raise TypeError("execution_id must be a non-empty string")
        if not isinstance(instance_id, str) or instance_id == "":
            raise TypeError("instance_id must be a non-empty string")
        if wave_id is not None and not isinstance(wave_id, str):
            raise TypeError("wave_id must be a string")
        self.execution_id = execution_id
        self.instance_id = instance_id
        self.wave_id = wave_id
        self.db_path = db_path or default_db_path()
        folder = os.path.join(transcripts_dir or default_transcripts_dir(), execution_dir(execution_id))
        self.jsonl_path = os.path.join(folder, "unified.jsonl")
        self.flush_interval = flush_interval
        self._report = report
        self._database = database
        self._lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._buffer = []
        self._closed = False
        self._registered = False
        self._tasks = set()
        self._scopes = {}
        self._listeners = []
        self._open_files()
        _open_recorders.add(self)
        self._stop = threading.Event()
        self._thread = None
        if flush_interval and flush_interval > 0:
            self._thread = threading.Thread(target=self._run, name="obs-flush-%s" % execution_id, daemon=True)
            self._thread.start()

    def _open_files(self):
        self._pid = os.getpid()
        self.counter = SequenceCounter(os.path.join(os.path.dirname(self.jsonl_path), "unified.seq"), self.execution_id, self._seed)
        self.jsonl = JsonlFile(self.jsonl_path, self._report)
        self.sink = DatabaseSink(self.db_path, self.jsonl_path, self._report) if self._database else None

    def _seed(self):
        return max(_max_sequence_in_jsonl(self.jsonl_path, self.execution_id),
                   _max_sequence_in_db(self.db_path, self.execution_id) if self._database else 0)

    def _after_fork(self):
        # A child of os.fork() must not use its parent's connections, nor write its parent's buffer again.
        if os.getpid() != self._pid:
            self._buffer = []
            self._open_files()
            self._thread = None

    def _run(self):
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception as e:  # the agent goes on whatever happens to its record
                report_once("flush:%s" % self.jsonl_path, "flushing %s failed: %s" % (self.jsonl_path, e), self._report)

    def _check(self):
        if self._closed:
            raise ValueError("the transcript writer of %s is closed" % self.execution_id)
        self._after_fork()

    def scoped(self, table, name):
        """The id a name the agent brings (a task, its own instance, a wave, a tool call's id) has
        in this execution. Ids are an execution's own, as ingest keeps them: a name another
        execution's row already has is ``<name>@<execution>`` here (the first answer holds for
        the writer). Named so in the JSONL itself, both copies of the record agree on it."""
        key = (table, name)
        out = self._scopes.get(key)
        if out is None:
            found, owner = self.sink.owner_of(table, name) if self.sink else (False, None)
            out = "%s@%s" % (name, self.execution_id) if found and owner is not None and owner != self.execution_id else name
            self._scopes[key] = out
        return out

    def _base(self, timestamp, task_id=None, wave_id=None):
        """The fields every line carries (the names it gives already scoped)."""
        out = {"execution_id": self.execution_id, "timestamp": timestamp, "instance_id": self.scoped("build_agent_instances", self.instance_id)}
        if task_id:
            out["task_id"] = task_id
        wave = wave_id or self.wave_id
        if wave:
            out["wave_id"] = self.scoped("parallel_execution_waves", wave)
        return out

    def _push(self, line):
        self._buffer.append(js_stringify(line))
        for f in self._listeners:
            f(line)

    def _register(self, task_id, is_task_line):
        # A record names its execution and tasks, and `obs validate` finds references that point
        # nowhere: the first line of an execution (unless the database has its run) says it
        # started, and a task named before anything was said of it is recorded as running.
        if not self._registered:
            self._registered = True
            known = self.sink.has("task_list_execution_runs", self.execution_id) if self.sink else None
            fresh = known is False or (known is None and not (os.path.exists(self.jsonl_path) and os.path.getsize(self.jsonl_path) > 0))
            if fresh:
                self._push(dict(kind="execution:status", **self._base(iso_now()), status="started"))
        if task_id and task_id not in self._tasks:
            self._tasks.add(task_id)
            if not is_task_line and (self.sink.has("tasks", task_id) if self.sink else None) is not True:
                self._push(dict(kind="task:status", **self._base(iso_now(), task_id), status="running"))

    def stamp(self):
        """The next sequence of the execution and its timestamp."""
        with self._lock:
            self._check()
            return self.counter.next()

    def line(self, kind, fields, task_id=None, wave_id=None, timestamp=None):
        """Records a line of `kind` (values made JSON-safe), stamped now unless a timestamp is given."""
        with self._lock:
            self._check()
            task = self.scoped("tasks", task_id) if task_id else None
            self._register(task, kind == "task:status")
            line = {"kind": kind}
            line.update(self._base(timestamp or iso_now(), task, wave_id))
            line.update(jsonable(fields))
            self._push(line)
            return line

    def current_sequence(self):
        with self._lock:
            self._after_fork()
            return self.counter.current()

    def flush(self):
        """Writes what is buffered: the JSONL first, then the database (or keeps it for the next try)."""
        with self._flush_lock:
            with self._lock:
                self._after_fork()
                lines, self._buffer = self._buffer, []
                jsonl, sink = self.jsonl, self.sink
            jsonl.append(lines)
            if sink is not None:
                sink.write(lines)

    @property
    def waiting_for_database(self):
        return len(self.sink.pending) if self.sink else 0

    def close(self):
        with self._lock:
            if self._closed:
                return
        self.flush()
        with self._lock:
            self._closed = True
            self._stop.set()
            self.jsonl.close()
            if self.sink is not None:
                self.sink.close()
            self.counter.close()
        _open_recorders.discard(self)
