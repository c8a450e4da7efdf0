"""The database copy of the record: lines folded into obs's tables as ``obs ingest`` folds them.

This is src/ingest/fold.ts (its Folder) for the kinds of line the producers write, statement
for statement: each line upserts what it knows, a tool call's lines are gathered per batch and
written at its end, and what depends on several lines (a chain's counts and first failure, a
skill's tool calls) is recomputed from the stored rows when the batch ends. The fold reads each
line back from its JSON text, so it sees exactly what ingest will see; the tests check that a
producer's database and ``obs ingest`` of its JSONL hold the same rows.
"""

import datetime
import json

from ._jsjson import payload_json
from ._text import ingest_one_line, ingest_summarise_input, ingest_summarise_output, tool_category

_DURATION = "CAST(ROUND((julianday({end}) - julianday({start})) * 86400000) AS INTEGER)"


def _dur(end, start):
    return _DURATION.format(end=end, start=start)


def _str(v):
    return v if isinstance(v, str) else None


def _int(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def _first(*values):
    """The first that is a string, as JavaScript's `a ?? b` over str() values."""
    for v in values:
        if isinstance(v, str):
            return v
    return None


def _flag(v):
    return 1 if v is True or (not isinstance(v, bool) and isinstance(v, (int, float)) and v == 1) else 0


def _ms(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _ms_between(start, end):
    delta = _ms(end) - _ms(start)
    return round(delta.total_seconds() * 1000)


ENTRY = """
INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, task_id, instance_id,
                                wave_number, wave_id, entry_type, category, summary, details, duration_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
  timestamp = excluded.timestamp, sequence = excluded.sequence, execution_id = excluded.execution_id,
  task_id = excluded.task_id, instance_id = excluded.instance_id, wave_number = excluded.wave_number,
  wave_id = excluded.wave_id, entry_type = excluded.entry_type, category = excluded.category,
  summary = excluded.summary, details = excluded.details, duration_ms = excluded.duration_ms"""

RUN = """
INSERT INTO task_list_execution_runs (id, task_list_id, status, started_at, completed_at, source, message, status_at, session_id, cwd, git_branch)
VALUES (:id, :task_list_id, :status, :timestamp, :completed_at, :source, :message, :timestamp, :session_id, :cwd, :git_branch)
ON CONFLICT(id) DO UPDATE SET
  task_list_id = COALESCE(excluded.task_list_id, task_list_id),
  cwd          = COALESCE(excluded.cwd, cwd),
  git_branch   = COALESCE(excluded.git_branch, git_branch),
  session_id   = COALESCE(excluded.session_id, session_id),
  source       = COALESCE(source, excluded.source),
  started_at   = CASE WHEN started_at IS NULL OR excluded.started_at < started_at
                      THEN excluded.started_at ELSE started_at END,
  completed_at = COALESCE(excluded.completed_at, completed_at),
  status       = CASE WHEN status_at IS NULL OR excluded.status_at >= status_at THEN excluded.status ELSE status END,
  message      = CASE WHEN status_at IS NULL OR excluded.status_at >= status_at THEN COALESCE(excluded.message, message) ELSE message END,
  status_at    = MAX(COALESCE(status_at, ''), excluded.status_at)"""

TOOL = """
INSERT INTO tool_uses (id, execution_id, task_id, transcript_entry_id, tool, tool_category, input, input_summary,
                       result_status, output, output_summary, is_error, is_blocked, block_reason, error_message,
                       start_time, end_time, duration_ms, within_skill, parent_tool_use_id, wave_id)
VALUES (:id, :execution_id, :task_id, :transcript_entry_id, :tool, :tool_category, :input, :input_summary,
        :result_status, :output, :output_summary, COALESCE(:is_error, 0), COALESCE(:is_blocked, 0), :block_reason,
        :error_message, :start_time, :end_time, {insert_duration}, :within_skill,
        :parent_tool_use_id, :wave_id)
ON CONFLICT(id) DO UPDATE SET
  execution_id        = COALESCE(:execution_id, execution_id),
  task_id             = COALESCE(:task_id, task_id),
  transcript_entry_id = COALESCE(:transcript_entry_id, transcript_entry_id),
  tool                = COALESCE(:tool, tool),
  tool_category       = COALESCE(:tool_category, tool_category),
  input               = COALESCE(:input, input),
  input_summary       = COALESCE(:input_summary, input_summary),
  is_blocked          = MAX(is_blocked, COALESCE(:is_blocked, 0)),
  result_status       = CASE WHEN is_blocked = 1 OR :is_blocked = 1 THEN 'blocked'
                             ELSE COALESCE(:result_status, result_status) END,
  output              = COALESCE(:output, output),
  output_summary      = COALESCE(:output_summary, output_summary),
  is_error            = COALESCE(:is_error, is_error),
  block_reason        = COALESCE(:block_reason, block_reason),
  error_message       = COALESCE(:error_message, error_message),
  start_time          = COALESCE(:start_time, start_time),
  end_time            = COALESCE(:end_time, end_time),
  duration_ms         = {update_duration},
  within_skill        = COALESCE(:within_skill, within_skill),
  parent_tool_use_id  = COALESCE(:parent_tool_use_id, parent_tool_use_id),
  wave_id             = COALESCE(:wave_id, wave_id)""".format(
    insert_duration=_dur(":end_time", ":start_time"),
    update_duration=_dur("COALESCE(:end_time, end_time)", "COALESCE(:start_time, start_time)"),
)

TOOL_COMPLETE = """
INSERT INTO tool_uses (id, execution_id, task_id, transcript_entry_id, tool, tool_category, input, input_summary,
                       result_status, output, output_summary, is_error, is_blocked, block_reason, error_message,
                       start_time, end_time, duration_ms, within_skill, parent_tool_use_id, wave_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
  execution_id = excluded.execution_id, task_id = COALESCE(excluded.task_id, task_id),
  transcript_entry_id = excluded.transcript_entry_id, tool = excluded.tool, tool_category = excluded.tool_category,
  input = excluded.input, input_summary = excluded.input_summary,
  is_blocked = MAX(is_blocked, excluded.is_blocked),
  result_status = CASE WHEN is_blocked = 1 OR excluded.is_blocked = 1 THEN 'blocked' ELSE excluded.result_status END,
  output = COALESCE(excluded.output, output), output_summary = COALESCE(excluded.output_summary, output_summary),
  is_error = excluded.is_error, block_reason = COALESCE(excluded.block_reason, block_reason),
  error_message = COALESCE(excluded.error_message, error_message),
  start_time = excluded.start_time, end_time = excluded.end_time, duration_ms = excluded.duration_ms,
  within_skill = excluded.within_skill, parent_tool_use_id = excluded.parent_tool_use_id,
  wave_id = COALESCE(excluded.wave_id, wave_id)"""

SKILL_START = """
INSERT INTO skill_traces (id, execution_id, task_id, instance_id, skill_name, skill_file, line_number, section_title, start_time)
VALUES (:id, :execution_id, :task_id, :instance_id, :skill_name, :skill_file, :line_number, :section_title, :timestamp)
ON CONFLICT(id) DO UPDATE SET
  execution_id = excluded.execution_id, task_id = COALESCE(excluded.task_id, task_id),
  instance_id = COALESCE(excluded.instance_id, instance_id), skill_name = excluded.skill_name,
  skill_file = excluded.skill_file, line_number = excluded.line_number, section_title = excluded.section_title,
  start_time = excluded.start_time,
  duration_ms = CASE WHEN end_time IS NOT NULL THEN {d} END""".format(d=_dur("end_time", "excluded.start_time"))

SKILL_END = """
INSERT INTO skill_traces (id, execution_id, task_id, instance_id, status, error_message, end_time)
VALUES (:id, :execution_id, :task_id, :instance_id, :status, :error, :timestamp)
ON CONFLICT(id) DO UPDATE SET
  status = excluded.status, error_message = COALESCE(excluded.error_message, error_message),
  end_time = excluded.end_time,
  duration_ms = CASE WHEN start_time IS NOT NULL THEN {d} END""".format(d=_dur("excluded.end_time", "start_time"))

SKILL_TOOL_CALLS = """
UPDATE skill_traces
   SET tool_calls = (SELECT json_group_array(id) FROM
                       (SELECT id FROM tool_uses WHERE within_skill = :id ORDER BY start_time, id))
 WHERE id = :id AND status IS NOT NULL"""

CHAIN_START = """
INSERT INTO assertion_chains (id, execution_id, task_id, description, started_at)
VALUES (:id, :execution_id, :task_id, :description, :timestamp)
ON CONFLICT(id) DO UPDATE SET
  execution_id = excluded.execution_id, task_id = excluded.task_id,
  description = COALESCE(excluded.description, description), started_at = excluded.started_at"""

CHAIN_END = """
INSERT INTO assertion_chains (id, execution_id, task_id, completed_at)
VALUES (:id, :execution_id, :task_id, :timestamp)
ON CONFLICT(id) DO UPDATE SET completed_at = excluded.completed_at"""

CHAIN_RECOUNT = """
UPDATE assertion_chains
   SET pass_count = (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = :id AND r.result = 'pass'),
       fail_count = (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = :id AND r.result = 'fail'),
       skip_count = (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = :id AND r.result = 'skip'),
       first_failure_id = (SELECT r.id FROM assertion_results r
                            WHERE r.chain_id = :id AND r.result = 'fail'
                            ORDER BY r.timestamp, r.id LIMIT 1),
       overall_result = CASE
         WHEN completed_at IS NULL THEN NULL
         WHEN EXISTS (SELECT 1 FROM assertion_results r WHERE r.chain_id = :id AND r.result = 'fail') THEN 'fail'
         ELSE 'pass' END
 WHERE id = :id"""

ASSERTION = """
INSERT INTO assertion_results (id, execution_id, task_id, chain_id, category, description, result, evidence,
                               timestamp, duration_ms, transcript_entry_id, wave_id)
VALUES (:id, :execution_id, :task_id, :chain_id, :category, :description, :result, :evidence,
        :timestamp, :duration_ms, :transcript_entry_id, :wave_id)
ON CONFLICT(id) DO UPDATE SET
  execution_id = excluded.execution_id, task_id = excluded.task_id, chain_id = excluded.chain_id,
  category = excluded.category, description = excluded.description, result = excluded.result,
  evidence = excluded.evidence, timestamp = excluded.timestamp, duration_ms = excluded.duration_ms,
  transcript_entry_id = excluded.transcript_entry_id, wave_id = excluded.wave_id"""

TASK = """
INSERT INTO tasks (id, execution_id, display_id, title, status, file_path, started_at, completed_at, status_at)
VALUES (:id, :execution_id, :display_id, :title, :status, :file_path, :started_at, :completed_at, :timestamp)
ON CONFLICT(id) DO UPDATE SET
  execution_id = excluded.execution_id,
  display_id = COALESCE(excluded.display_id, display_id), title = COALESCE(excluded.title, title),
  file_path = COALESCE(excluded.file_path, file_path),
  status = CASE WHEN status_at IS NULL OR excluded.status_at >= status_at THEN excluded.status ELSE status END,
  started_at = CASE WHEN started_at IS NULL OR excluded.started_at < started_at
                    THEN COALESCE(excluded.started_at, started_at) ELSE started_at END,
  completed_at = COALESCE(excluded.completed_at, completed_at),
  status_at = MAX(COALESCE(status_at, ''), excluded.status_at)"""

TASK_DEP = "INSERT OR IGNORE INTO task_dependencies (task_id, depends_on_task_id) VALUES (?, ?)"

ASSIGNMENT = """
INSERT INTO wave_task_assignments (wave_id, task_id, instance_id, status, started_at, completed_at)
VALUES (:wave_id, :task_id, :instance_id, :status, :started_at, :completed_at)
ON CONFLICT(wave_id, task_id) DO UPDATE SET
  instance_id = COALESCE(excluded.instance_id, instance_id),
  status = COALESCE(excluded.status, status),
  started_at = COALESCE(started_at, excluded.started_at),
  completed_at = COALESCE(excluded.completed_at, completed_at)"""

_TOOL_FIELDS = ("execution_id", "task_id", "transcript_entry_id", "tool", "tool_category", "input", "input_summary",
                "result_status", "output", "output_summary", "is_error", "is_blocked", "block_reason", "error_message",
                "start_time", "end_time", "within_skill", "parent_tool_use_id", "wave_id")

#: The kinds of line this fold knows: those the producers write.
KINDS = ("execution:status", "task:status", "transcript:entry", "tool:start", "tool:end", "tool:blocked",
         "skill:start", "skill:end", "assertion:chain_start", "assertion:result", "assertion:chain_end")


class Folder:
    """Folds one batch of lines in the caller's transaction; finish() ends the batch."""

    def __init__(self, conn, source):
        self.conn = conn
        self.source = source
        self.tools = {}
        self.touched_chains = []
        self.touched_skills = []

    def _acc(self, tool_use_id):
        a = self.tools.get(tool_use_id)
        if a is None:
            a = dict.fromkeys(_TOOL_FIELDS)
            a["id"] = tool_use_id
            self.tools[tool_use_id] = a
        return a

    def _touch(self, bag, item):
        if item not in bag:
            bag.append(item)

    def _entry(self, e, entry_type, category, summary, details, duration_ms, explicit_id=None):
        link = _str(e.get("transcript_entry_id"))
        if link and e["kind"] != "transcript:entry":
            return link
        named = _first(explicit_id, e.get("entry_id"))
        sequence = _int(e.get("sequence"))
        if sequence is None or named is None:
            # The producers always name their entries and give their sequences.
            raise ValueError("a producer line without entry_id and sequence: %r" % (e,))
        self.conn.execute(ENTRY, (
            named, e["timestamp"], sequence, e["execution_id"], _str(e.get("task_id")), _str(e.get("instance_id")),
            _int(e.get("wave_number")), _str(e.get("wave_id")), entry_type, category, ingest_one_line(summary),
            payload_json(details), duration_ms,
        ))
        return named

    def apply(self, e):
        kind = e["kind"]
        ctx_task, ctx_wave = _str(e.get("task_id")), _str(e.get("wave_id"))
        ts = e["timestamp"]
        if kind == "execution:status":
            done = e["status"] in ("completed", "failed")
            self.conn.execute(RUN, {
                "id": e["execution_id"], "task_list_id": _str(e.get("task_list_id")), "status": e["status"], "timestamp": ts,
                "completed_at": ts if done else None, "source": self.source, "message": _str(e.get("message")),
                "session_id": _str(e.get("session_id")), "cwd": _str(e.get("cwd")), "git_branch": _str(e.get("git_branch")),
            })
        elif kind == "transcript:entry":
            self._entry(e, e["entry_type"], e["category"], e["summary"], e.get("details"), _int(e.get("duration_ms")),
                        _first(e.get("id"), e.get("entry_id"), e.get("transcript_entry_id")))
        elif kind == "tool:start":
            tid, tool = e["tool_use_id"], e["tool"]
            summary = ingest_one_line(_str(e.get("input_summary")) if _str(e.get("input_summary")) is not None else ingest_summarise_input(e.get("input")))
            a = self._acc(tid)
            a["execution_id"] = e["execution_id"]
            a["task_id"] = ctx_task if ctx_task is not None else a["task_id"]
            a["transcript_entry_id"] = self._entry(e, "tool_use", "tool", "%s: %s" % (tool, summary), None, None)
            a["tool"] = tool
            a["tool_category"] = _first(e.get("tool_category"), tool_category(tool))
            a["input"] = payload_json(e.get("input"))
            a["input_summary"] = summary
            a["start_time"] = ts
            a["within_skill"] = _str(e.get("within_skill"))
            a["parent_tool_use_id"] = _str(e.get("parent_tool_use_id"))
            a["wave_id"] = ctx_wave if ctx_wave is not None else a["wave_id"]
            if a["within_skill"]:
                self._touch(self.touched_skills, a["within_skill"])
        elif kind == "tool:end":
            a = self._acc(e["tool_use_id"])
            is_error = _flag(e.get("is_error"))
            a["execution_id"] = _first(a["execution_id"], e["execution_id"])
            a["task_id"] = a["task_id"] if a["task_id"] is not None else ctx_task
            a["wave_id"] = a["wave_id"] if a["wave_id"] is not None else ctx_wave
            a["result_status"] = "blocked" if a["is_blocked"] else "error" if is_error else "done"
            a["is_error"] = is_error
            output = payload_json(e.get("output"))
            if output is not None:
                a["output"] = output
            if _str(e.get("output_summary")) is not None:
                a["output_summary"] = ingest_one_line(e["output_summary"])
            elif "output" in e:
                a["output_summary"] = ingest_summarise_output(e["output"])
            if _str(e.get("error_message")) is not None:
                a["error_message"] = e["error_message"]
            a["end_time"] = ts
        elif kind == "tool:blocked":
            a = self._acc(e["tool_use_id"])
            a["execution_id"] = _first(a["execution_id"], e["execution_id"])
            a["task_id"] = a["task_id"] if a["task_id"] is not None else ctx_task
            a["wave_id"] = a["wave_id"] if a["wave_id"] is not None else ctx_wave
            a["result_status"] = "blocked"
            a["is_blocked"] = 1
            a["block_reason"] = e["reason"]
            if a["end_time"] is None:
                a["end_time"] = ts
        elif kind == "skill:start":
            sid = e["skill_trace_id"]
            self._entry(e, "skill_invoke", "skill", "Skill %s (%s:%s)" % (e["skill_name"], e["skill_file"], e["line_number"]), {
                "skill_trace_id": sid, "skill_name": e["skill_name"], "skill_file": e["skill_file"],
                "line_number": e["line_number"], "section_title": e["section_title"]}, None)
            self.conn.execute(SKILL_START, {
                "id": sid, "execution_id": e["execution_id"], "task_id": ctx_task, "instance_id": _str(e.get("instance_id")),
                "skill_name": e["skill_name"], "skill_file": e["skill_file"], "line_number": e["line_number"],
                "section_title": e["section_title"], "timestamp": ts,
            })
        elif kind == "skill:end":
            sid = e["skill_trace_id"]
            self.conn.execute(SKILL_END, {
                "id": sid, "execution_id": e["execution_id"], "task_id": ctx_task, "instance_id": _str(e.get("instance_id")),
                "status": e["status"], "error": _str(e.get("error")), "timestamp": ts,
            })
            error = _str(e.get("error"))
            row = self.conn.execute("SELECT skill_name FROM skill_traces WHERE id = ?", (sid,)).fetchone()
            name = row[0] if row and row[0] is not None else sid
            details = {"skill_trace_id": sid, "status": e["status"]}
            if error:
                details["error"] = error
            self._entry(e, "skill_complete", "skill", "Skill %s %s%s" % (name, e["status"], ": " + error if error else ""), details, None)
            self._touch(self.touched_skills, sid)
        elif kind == "assertion:chain_start":
            self.conn.execute(CHAIN_START, {"id": e["chain_id"], "execution_id": e["execution_id"], "task_id": ctx_task,
                                            "description": _str(e.get("description")), "timestamp": ts})
        elif kind == "assertion:result":
            aid, result = e["assertion_id"], e["result"]
            entry_id = self._entry(e, "assertion", "validation", "%s %s: %s" % (result.upper(), e["category"], e["description"]), {
                "assertion_id": aid, "chain_id": _str(e.get("chain_id")), "result": result, "category": e["category"]},
                _int(e.get("duration_ms")))
            self.conn.execute(ASSERTION, {
                "id": aid, "execution_id": e["execution_id"], "task_id": ctx_task, "chain_id": _str(e.get("chain_id")),
                "category": e["category"], "description": e["description"], "result": result,
                "evidence": payload_json(e.get("evidence")), "timestamp": ts, "duration_ms": _int(e.get("duration_ms")),
                "transcript_entry_id": entry_id, "wave_id": ctx_wave,
            })
            if _str(e.get("chain_id")):
                self._touch(self.touched_chains, e["chain_id"])
        elif kind == "assertion:chain_end":
            self.conn.execute(CHAIN_END, {"id": e["chain_id"], "execution_id": e["execution_id"], "task_id": ctx_task, "timestamp": ts})
            self._touch(self.touched_chains, e["chain_id"])
        elif kind == "task:status":
            status = e["status"]
            done = status in ("completed", "failed", "skipped")
            self.conn.execute(TASK, {
                "id": e["task_id"], "execution_id": e["execution_id"], "display_id": _str(e.get("display_id")),
                "title": _str(e.get("title")), "status": status, "file_path": _str(e.get("file_path")),
                "started_at": ts if status == "running" else None, "completed_at": ts if done else None, "timestamp": ts,
            })
            for dep in e.get("depends_on") or []:
                self.conn.execute(TASK_DEP, (e["task_id"], dep))
            if ctx_wave:
                self.conn.execute(ASSIGNMENT, {
                    "wave_id": ctx_wave, "task_id": e["task_id"], "instance_id": _str(e.get("instance_id")), "status": status,
                    "started_at": ts if status == "running" else None, "completed_at": ts if done else None,
                })
        else:
            raise ValueError("the producers' fold does not know lines of kind %r" % kind)

    def _flush_tools(self):
        for a in self.tools.values():
            if a["start_time"] is not None and a["end_time"] is not None and a["result_status"] is not None and a["is_error"] is not None:
                self.conn.execute(TOOL_COMPLETE, (
                    a["id"], a["execution_id"], a["task_id"], a["transcript_entry_id"], a["tool"], a["tool_category"], a["input"],
                    a["input_summary"], a["result_status"], a["output"], a["output_summary"], a["is_error"], a["is_blocked"] or 0,
                    a["block_reason"], a["error_message"], a["start_time"], a["end_time"], _ms_between(a["start_time"], a["end_time"]),
                    a["within_skill"], a["parent_tool_use_id"], a["wave_id"],
                ))
            else:
                self.conn.execute(TOOL, a)
        self.tools = {}

    def finish(self):
        self._flush_tools()
        for cid in self.touched_chains:
            self.conn.execute(CHAIN_RECOUNT, {"id": cid})
        for sid in self.touched_skills:
            self.conn.execute(SKILL_TOOL_CALLS, {"id": sid})
        self.touched_chains = []
        self.touched_skills = []


def fold_lines(conn, source, lines):
    """Folds lines (JSON text) in one IMMEDIATE transaction, as obs ingest folds a file's."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        folder = Folder(conn, source)
        for text in lines:
            folder.apply(json.loads(text))
        folder.finish()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
