"""Summaries and tool facts as obs's TypeScript side makes them (src/producers/text.ts).

A summary is one line of at most 200 UTF-16 units, whitespace runs collapsed, cut with an
ellipsis — and, unlike a plain slice, never inside a character that JavaScript holds as two
units (an emoji): half of one would reach SQLite as bytes that are not UTF-8. A summary made
here is a fixed point of ingest's own cut, so ``obs ingest`` stores it unchanged.
"""

import re

from ._jsjson import js_stringify, jsonable, utf16_head, utf16_len, well_formed

SUMMARY_MAX = 200

# JavaScript's \\s: its WhiteSpace and LineTerminator characters (also what String.prototype.trim removes).
_JS_SPACE = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_RUNS = re.compile("[%s]+" % _JS_SPACE)
_NEEDS_FLAT = re.compile("[%s][%s]|[\n\r\t]|^[%s]|[%s]$" % (_JS_SPACE, _JS_SPACE, _JS_SPACE, _JS_SPACE))
_EDGES = "".join(chr(c) for c in range(0x2000, 0x200B)) + "\t\n\x0b\x0c\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"


def _flat(text):
    if not _NEEDS_FLAT.search(text):
        return text
    return _RUNS.sub(" ", text).strip(_EDGES)


def one_line(text, max_units=SUMMARY_MAX):
    """One line of at most max_units UTF-16 units, cut with an ellipsis between characters."""
    flat = _flat(well_formed(str(text)))
    if utf16_len(flat) <= max_units:
        return flat
    out, used = [], 0
    for c in flat:
        w = 2 if ord(c) > 0xFFFF else 1
        if used + w > max_units - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "\u2026"


# As ingest's (src/ingest/shape.ts INPUT_KEYS): `cmd` is Codex's exec_command, `dir_path` Gemini CLI's list_directory.
_INPUT_KEYS = ("command", "cmd", "file_path", "notebook_path", "pattern", "path", "dir_path", "url", "query", "description", "prompt")
_SHELL = re.compile(r"(^|/)(ba|z|da|k)?sh$")
_DASH_C = re.compile(r"^-[a-z]*c$")


def _command_text(v):
    """A command as a person reads it: a shell's -c script when given as words, else the words joined."""
    if isinstance(v, str):
        return v
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(w, str) for w in v):
        return None
    if len(v) >= 3 and _SHELL.search(v[0]) and _DASH_C.match(v[-2]):
        return v[-1]
    return " ".join(v)


def _input_part(value):
    """The part of a dict input a person recognises it by, or None."""
    for key in _INPUT_KEYS:
        v = _command_text(value.get(key)) if key in ("command", "cmd") else value.get(key)
        if isinstance(v, str) and v != "":
            return v + (" in %s" % value["path"] if key == "pattern" and isinstance(value.get("path"), str) else "")
    return None


def summarise_input(value):
    """The part of a tool's input a person recognises it by: the command, the file, the pattern."""
    if value is None:
        return ""
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, dict):
        part = _input_part(value)
        if part is not None:
            return one_line(part)
    return one_line(js_stringify(jsonable(value)))


def content_text(content):
    """The text of a tool result's content: a string, or the text blocks of a content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for b in content:
            text = b.get("text") if isinstance(b, dict) else getattr(b, "text", None)
            if isinstance(text, str):
                parts.append(text)
            elif isinstance(b, str):
                parts.append(b)
            else:
                parts.append(js_stringify(jsonable(b)))
        return "\n".join(parts)
    return js_stringify(jsonable(content))


_CATEGORY = {
    "Read": "file_read",
    "Glob": "file_read",
    "Grep": "file_read",
    "Write": "file_write",
    "Edit": "file_write",
    "MultiEdit": "file_write",
    "NotebookEdit": "file_write",
    "Bash": "shell",
    "WebFetch": "network",
    "WebSearch": "network",
    "Task": "agent",
}


def tool_category(tool):
    """A tool's category from its name, as obs's ingest gives it (docs/events.md)."""
    return _CATEGORY.get(tool, "custom")


def ingest_one_line(text, max_units=SUMMARY_MAX):
    """ingest's own cut (src/ingest/shape.ts), for values the fold receives: a plain slice at
    max_units - 1 units. The producers only hand it fixed points; a split character, which
    SQLite could not store as UTF-8 from Python, becomes U+FFFD."""
    flat = _flat(text)
    if utf16_len(flat) <= max_units:
        return flat
    return utf16_head(flat, max_units - 1) + "\u2026"


def ingest_summarise_output(output):
    """ingest's summary of an output it was given no summary of."""
    if output is None:
        return ""
    if isinstance(output, str):
        return ingest_one_line(output)
    return ingest_one_line(js_stringify(output))


def ingest_summarise_input(value):
    """ingest's summary of an input it was given no summary of."""
    if value is None:
        return ""
    if isinstance(value, str):
        return ingest_one_line(value)
    if isinstance(value, dict):
        part = _input_part(value)
        if part is not None:
            return ingest_one_line(part)
    return ingest_one_line(js_stringify(value))


__all__ = ["one_line", "summarise_input", "content_text", "tool_category", "SUMMARY_MAX"]
