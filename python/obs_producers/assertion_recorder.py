"""AssertionRecorder: test assertions with the evidence behind them (seed 000, OBS-006).

Usage::

    recorder = AssertionRecorder(transcript_writer, execution_id)
    chain_id = recorder.start_chain(task_id, "Validate CREATE task")
    recorder.assert_file_created(task_id, "src/user.ts")
    recorder.assert_typescript_compiles(task_id)
    result = recorder.end_chain(chain_id)

The pre-built assertions do what they say, in the recorder's working directory and under a
timeout: assert_typescript_compiles runs ``tsc --noEmit``, assert_lint_passes ``eslint``,
assert_tests_pass ``npm test``, assert_custom any command; assert_file_* look at the file.
"""

import datetime
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, fields as dc_fields
from enum import Enum
from typing import Dict, List, Optional

from ._jsjson import utf16_len
from ._record import iso_now, new_id
from .transcript_writer import TranscriptWriter, write_entry

__all__ = ["AssertionRecorder", "AssertionCategory", "AssertionEvidence", "AssertionResult", "ChainResult"]


class AssertionCategory(str, Enum):
    FILE_CREATED = "file_created"
    FILE_MODIFIED = "file_modified"
    FILE_DELETED = "file_deleted"
    TYPESCRIPT_COMPILES = "typescript_compiles"
    LINT_PASSES = "lint_passes"
    TESTS_PASS = "tests_pass"
    API_RESPONDS = "api_responds"
    SCHEMA_VALID = "schema_valid"
    DEPENDENCY_MET = "dependency_met"
    CUSTOM = "custom"


@dataclass
class AssertionEvidence:
    """Evidence supporting an assertion result (the seed's fields, then the file's size and time,
    the command's directory, whether it timed out, and anything else in ``extra``)."""

    command: Optional[str] = None
    exit_code: Optional[int] = None
    stdout: Optional[str] = None
    stderr: Optional[str] = None
    file_path: Optional[str] = None
    file_exists: Optional[bool] = None
    error_message: Optional[str] = None
    cwd: Optional[str] = None
    timed_out: Optional[bool] = None
    file_size: Optional[int] = None
    file_modified_at: Optional[str] = None
    extra: Dict[str, object] = field(default_factory=dict)

    def to_dict(self):
        """The evidence JSON: the fields that are set."""
        out = {f.name: getattr(self, f.name) for f in dc_fields(self) if f.name != "extra" and getattr(self, f.name) is not None}
        out.update(self.extra)
        return out


@dataclass
class AssertionResult:
    assertion_id: str
    task_id: str
    chain_id: Optional[str]
    category: str
    description: str
    result: str
    evidence: AssertionEvidence
    timestamp: str
    duration_ms: int

    @property
    def passed(self):
        return self.result == "pass"


@dataclass
class ChainResult:
    chain_id: str
    task_id: str
    description: str
    #: pass when no result failed, fail otherwise (skip and warn do not fail a chain).
    overall_result: str
    pass_count: int
    fail_count: int
    skip_count: int
    warn_count: int
    first_failure_id: Optional[str]
    results: List[AssertionResult]
    started_at: str
    completed_at: str
    duration_ms: int


_OUTCOMES = ("pass", "fail", "skip", "warn")


def _tail(text, units):
    """The end of an output, which is where compilers and test runners say what failed."""
    if utf16_len(text) <= units:
        return text
    out, used = [], 0
    for c in reversed(text):
        w = 2 if ord(c) > 0xFFFF else 1
        if used + w > units - 1:
            break
        out.append(c)
        used += w
    return "\u2026" + "".join(reversed(out))


def _iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(ts * 1000) % 1000)


def _parse(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class AssertionRecorder:
    """Records test assertions with evidence linking.

    Keyword arguments beyond the seed's: ``cwd`` (where commands run; default the process's),
    ``timeout`` (seconds a command may run before it is stopped and the assertion fails;
    default 300), ``output_chars`` (stdout and stderr kept in the evidence, each; default
    4000, the end of the output) and ``commands`` (what the pre-built assertions run:
    ``{"typescript": "tsc --noEmit", "lint": "eslint {file}", "tests": "npm test -- {pattern}"}``).
    """

    def __init__(self, transcript_writer: TranscriptWriter, execution_id: Optional[str] = None, *, cwd: Optional[str] = None,
                 timeout: float = 300, output_chars: int = 4000, commands: Optional[Dict[str, str]] = None):
        """Initialize with transcript writer and execution context."""
        if not isinstance(transcript_writer, TranscriptWriter):
            raise TypeError("AssertionRecorder takes a TranscriptWriter")
        if execution_id is not None and execution_id != transcript_writer.execution_id:
            raise ValueError("the recorder's execution (%s) is not its writer's (%s)" % (execution_id, transcript_writer.execution_id))
        self.transcript_writer = transcript_writer
        self.execution_id = transcript_writer.execution_id
        self._rec = transcript_writer._rec
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.timeout = timeout
        self.output_chars = output_chars
        self.commands = {"typescript": "tsc --noEmit", "lint": "eslint {file}", "tests": "npm test -- {pattern}"}
        self.commands.update(commands or {})
        self._created = time.time()
        self._lock = threading.Lock()
        self._chains = {}
        self._open = []

    @staticmethod
    def _check_task(task_id):
        if not isinstance(task_id, str) or task_id == "":
            raise TypeError("task_id must be a non-empty string")

    def start_chain(self, task_id: str, description: str) -> str:
        """Start an assertion chain. Returns chain_id."""
        self._check_task(task_id)
        chain_id = new_id()
        started = iso_now()
        chain = {"id": chain_id, "task_id": task_id, "description": str(description or ""), "started_at": started, "results": []}
        self._rec.line("assertion:chain_start", {"chain_id": chain_id, "description": chain["description"]}, task_id=task_id, timestamp=started)
        with self._lock:
            self._chains[chain_id] = chain
            self._open.append(chain)
        return chain_id

    def end_chain(self, chain_id: str) -> ChainResult:
        """End chain and compute overall result, from the assertions recorded in it."""
        completed = iso_now()
        with self._lock:
            chain = self._chains.get(chain_id)
            if chain in self._open:
                self._open.remove(chain)
        self._rec.line("assertion:chain_end", {"chain_id": chain_id}, task_id=chain["task_id"] if chain else None, timestamp=completed)
        results = list(chain["results"]) if chain else []
        count = lambda r: sum(1 for x in results if x.result == r)  # noqa: E731
        failures = sorted((x for x in results if x.result == "fail"), key=lambda x: (x.timestamp, x.assertion_id))
        started = chain["started_at"] if chain else completed
        return ChainResult(
            chain_id=chain_id, task_id=chain["task_id"] if chain else "", description=chain["description"] if chain else "",
            overall_result="fail" if count("fail") else "pass", pass_count=count("pass"), fail_count=count("fail"),
            skip_count=count("skip"), warn_count=count("warn"), first_failure_id=failures[0].assertion_id if failures else None,
            results=results, started_at=started, completed_at=completed,
            duration_ms=round((_parse(completed) - _parse(started)) * 1000),
        )

    def _chain_for(self, task_id):
        """The open chain an assertion of this task belongs to: its latest, else the latest of any task."""
        with self._lock:
            for c in reversed(self._open):
                if c["task_id"] == task_id:
                    return c
            return self._open[-1] if self._open else None

    def record_result(self, task_id: str, category: str, description: str, result: str,
                      evidence: Optional[AssertionEvidence] = None, duration_ms: int = 0) -> AssertionResult:
        """Record a result the agent established itself (pass, fail, skip or warn)."""
        self._check_task(task_id)
        category = getattr(category, "value", category)
        result = getattr(result, "value", result)
        if result not in _OUTCOMES:
            raise ValueError("result must be pass, fail, skip or warn, got %r" % (result,))
        if not isinstance(category, str) or category == "":
            raise TypeError("category must be a non-empty string")
        evidence = evidence if evidence is not None else AssertionEvidence()
        ev = evidence.to_dict() if isinstance(evidence, AssertionEvidence) else dict(evidence)
        chain = self._chain_for(task_id)
        assertion_id = new_id()
        description = str(description or "")
        duration = max(0, int(round(duration_ms)))
        entry_id, _seq, timestamp = write_entry(self._rec, {
            "entry_type": "assertion", "category": "validation", "summary": "%s %s: %s" % (result.upper(), category, description),
            "task_id": task_id, "details": {"assertion_id": assertion_id, "chain_id": chain["id"] if chain else None,
                                            "result": result, "category": category},
            "duration_ms": duration,
        })
        fields = {"assertion_id": assertion_id, "category": category, "description": description, "result": result}
        if chain:
            fields["chain_id"] = chain["id"]
        fields.update({"evidence": ev, "duration_ms": duration, "transcript_entry_id": entry_id})
        self._rec.line("assertion:result", fields, task_id=task_id, timestamp=timestamp)
        r = AssertionResult(assertion_id=assertion_id, task_id=task_id, chain_id=chain["id"] if chain else None, category=category,
                            description=description, result=result,
                            evidence=evidence if isinstance(evidence, AssertionEvidence) else AssertionEvidence(extra=ev),
                            timestamp=timestamp, duration_ms=duration)
        if chain:
            with self._lock:
                chain["results"].append(r)
        return r

    # --- files -----------------------------------------------------------------------------

    def _path(self, p):
        return os.path.join(self.cwd, p)

    @staticmethod
    def _facts(path):
        try:
            st = os.stat(path)
        except OSError:
            return {"file_exists": False}, None
        return {"file_exists": True, "file_size": st.st_size, "file_modified_at": _iso(st.st_mtime)}, st.st_mtime

    def assert_file_created(self, task_id: str, file_path: str) -> AssertionResult:
        """Assert the file exists."""
        t0 = time.monotonic()
        facts, _ = self._facts(self._path(file_path))
        ev = AssertionEvidence(file_path=file_path, **facts)
        if not ev.file_exists:
            ev.error_message = "%s does not exist" % file_path
        return self.record_result(task_id, "file_created", "%s exists" % file_path, "pass" if ev.file_exists else "fail", ev,
                                  (time.monotonic() - t0) * 1000)

    def assert_file_modified(self, task_id: str, file_path: str, since: Optional[float] = None) -> AssertionResult:
        """Assert the file was changed during the work being checked: it exists and was modified
        at or after ``since`` (a Unix time) — by default the start of its chain, else when this
        recorder was made."""
        t0 = time.monotonic()
        chain = self._chain_for(task_id)
        since_ts = since if since is not None else (_parse(chain["started_at"]) if chain else self._created)
        facts, mtime = self._facts(self._path(file_path))
        # File times can be coarser than milliseconds; a change within the same second counts.
        ok = mtime is not None and int(mtime) >= int(since_ts)
        ev = AssertionEvidence(file_path=file_path, **facts)
        ev.extra["since"] = _iso(since_ts)
        if not ok:
            ev.error_message = ("%s was last modified %s, before %s" % (file_path, facts["file_modified_at"], _iso(since_ts))
                                if facts["file_exists"] else "%s does not exist" % file_path)
        return self.record_result(task_id, "file_modified", "%s was modified" % file_path, "pass" if ok else "fail", ev,
                                  (time.monotonic() - t0) * 1000)

    def assert_file_deleted(self, task_id: str, file_path: str) -> AssertionResult:
        """Assert the file is gone."""
        t0 = time.monotonic()
        facts, _ = self._facts(self._path(file_path))
        ev = AssertionEvidence(file_path=file_path, **facts)
        if ev.file_exists:
            ev.error_message = "%s still exists" % file_path
        return self.record_result(task_id, "file_deleted", "%s is gone" % file_path, "fail" if ev.file_exists else "pass", ev,
                                  (time.monotonic() - t0) * 1000)

    # --- commands ----------------------------------------------------------------------------

    def _run(self, command, timeout):
        """Runs a shell command in its own process group, so a timeout stops everything it started."""
        try:
            proc = subprocess.Popen(command, shell=True, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=(os.name == "posix"))
        except OSError as e:
            return None, "", "", False, str(e)
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            try:
                if os.name == "posix":
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except OSError:
                pass
            out, err = proc.communicate()
            timed_out = True
        decode = lambda b: _tail(b.decode("utf-8", "replace"), self.output_chars)  # noqa: E731
        if timed_out:
            return None, decode(out), decode(err), True, "timed out after %s s; stopped" % timeout
        return proc.returncode, decode(out), decode(err), False, None

    def _command(self, task_id, category, description, command, timeout=None):
        t0 = time.monotonic()
        code, out, err, timed_out, message = self._run(command, self.timeout if timeout is None else timeout)
        ev = AssertionEvidence(command=command, cwd=self.cwd, exit_code=code, stdout=out, stderr=err, timed_out=True if timed_out else None)
        ev.error_message = message or ("exit code %s" % code if code != 0 else None)
        return self.record_result(task_id, category, description, "pass" if code == 0 else "fail", ev, (time.monotonic() - t0) * 1000)

    def _local_bin(self, command):
        """A project's own binary (node_modules/.bin) before one on PATH."""
        binary, _, rest = command.partition(" ")
        local = os.path.join(self.cwd, "node_modules", ".bin", binary)
        return (shlex.quote(local) + (" " + rest if rest else "")) if os.path.exists(local) else command

    def assert_typescript_compiles(self, task_id: str, timeout: Optional[float] = None) -> AssertionResult:
        """Assert TypeScript compilation passes: ``tsc --noEmit`` in the working directory."""
        return self._command(task_id, "typescript_compiles", "TypeScript compiles (tsc --noEmit)", self._local_bin(self.commands["typescript"]), timeout)

    def assert_lint_passes(self, task_id: str, file_path: Optional[str] = None, timeout: Optional[float] = None) -> AssertionResult:
        """Assert linting passes (on the file, or the whole directory)."""
        cmd = self._local_bin(self.commands["lint"].replace("{file}", shlex.quote(file_path or ".")))
        return self._command(task_id, "lint_passes", "lint passes" + (" on %s" % file_path if file_path else ""), cmd, timeout)

    def assert_tests_pass(self, task_id: str, pattern: Optional[str] = None, timeout: Optional[float] = None, *,
                          test_pattern: Optional[str] = None) -> AssertionResult:
        """Assert tests pass (those matching the pattern, when one is given)."""
        pattern = pattern if pattern is not None else test_pattern
        cmd = self.commands["tests"].replace("{pattern}", shlex.quote(pattern) if pattern else "").strip()
        if cmd.endswith(" --"):
            cmd = cmd[:-3]
        return self._command(task_id, "tests_pass", "tests pass" + (" (%s)" % pattern if pattern else ""), cmd, timeout)

    def assert_custom(self, task_id: str, category: str, desc: Optional[str] = None, cmd: Optional[str] = None,
                      timeout: Optional[float] = None, *, description: Optional[str] = None, command: Optional[str] = None) -> AssertionResult:
        """Run a custom assertion: any shell command in the working directory; passes when it exits 0."""
        desc = desc if desc is not None else description
        cmd = cmd if cmd is not None else command
        if not isinstance(cmd, str) or cmd.strip() == "":
            raise TypeError("assert_custom() takes the command to run")
        return self._command(task_id, category, desc or cmd, cmd, timeout)

    # --- others ------------------------------------------------------------------------------

    def assert_api_responds(self, task_id: str, url: str, expected_status: Optional[int] = None, method: str = "GET",
                            timeout: float = 10) -> AssertionResult:
        """Assert an HTTP endpoint answers with the expected status (by default any 2xx)."""
        t0 = time.monotonic()
        method = method.upper()
        ev = AssertionEvidence(command="%s %s" % (method, url))
        ok = False
        try:
            req = urllib.request.Request(url, method=method)
            try:
                with urllib.request.urlopen(req, timeout=timeout) as res:
                    status, body = res.status, res.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            ev.exit_code = status
            ev.stdout = _tail(body.decode("utf-8", "replace"), self.output_chars)
            ok = status == expected_status if expected_status is not None else 200 <= status < 300
            if not ok:
                ev.error_message = "status %s, expected %s" % (status, expected_status if expected_status is not None else "2xx")
        except Exception as e:  # an unreachable or malformed URL is a failed assertion, not an agent crash
            ev.error_message = str(getattr(e, "reason", e))
        return self.record_result(task_id, "api_responds", "%s %s responds" % (method, url), "pass" if ok else "fail", ev,
                                  (time.monotonic() - t0) * 1000)

    def assert_schema_valid(self, task_id: str, file_path: str, required_keys: Optional[List[str]] = None) -> AssertionResult:
        """Assert a JSON file parses and has the given top-level keys."""
        t0 = time.monotonic()
        keys = list(required_keys or [])
        ev = AssertionEvidence(file_path=file_path)
        ok = False
        try:
            with open(self._path(file_path), encoding="utf-8") as f:
                value = json.load(f)
            ev.file_exists = True
            missing = [k for k in keys if not (isinstance(value, dict) and k in value)]
            ok = not missing
            if missing:
                ev.error_message = "missing keys: %s" % ", ".join(missing)
        except (OSError, ValueError) as e:
            ev.file_exists = os.path.exists(self._path(file_path))
            ev.error_message = str(e)
        desc = "%s is valid JSON%s" % (file_path, " with %s" % ", ".join(keys) if keys else "")
        return self.record_result(task_id, "schema_valid", desc, "pass" if ok else "fail", ev, (time.monotonic() - t0) * 1000)

    def assert_dependency_met(self, task_id: str, depends_on_task_id: str) -> AssertionResult:
        """Assert a task this one depends on has completed, as the database records it."""
        t0 = time.monotonic()
        db = self.transcript_writer.db_path
        ev = AssertionEvidence()
        ev.extra["depends_on_task_id"] = depends_on_task_id
        ok = False
        try:
            if not os.path.exists(db):
                raise sqlite3.OperationalError("no such file")
            conn = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(db), uri=True, timeout=2)
            try:
                row = conn.execute("SELECT status FROM tasks WHERE id = ?", (depends_on_task_id,)).fetchone()
            finally:
                conn.close()
            ev.extra["status"] = row[0] if row else None
            ok = bool(row) and row[0] == "completed"
            if not ok:
                ev.error_message = ("%s is %s" % (depends_on_task_id, row[0] or "without a status") if row
                                    else "no task %s in %s" % (depends_on_task_id, db))
        except sqlite3.Error as e:
            ev.error_message = "cannot read %s: %s" % (db, e)
        return self.record_result(task_id, "dependency_met", "dependency %s completed" % depends_on_task_id, "pass" if ok else "fail", ev,
                                  (time.monotonic() - t0) * 1000)
