"""JSON exactly as obs's ingest (JavaScript) reads and writes it.

The producers write every line of the record twice: to the JSONL file, which ``obs ingest``
reads with ``JSON.parse``, and to the database, where the fold stores values as
``JSON.stringify`` would print them. For the two copies to hold the same bytes, the text
made here must be what JavaScript would make of the same value: numbers printed as
``Number.prototype.toString`` prints them (``1.0`` is ``1``, ``1e21`` is ``1e+21``), strings
escaped as ``JSON.stringify`` escapes them, lengths counted in UTF-16 units.
"""

import dataclasses
import datetime
import enum
import json
import math
import re

__all__ = ["jsonable", "js_stringify", "js_number", "utf16_len", "utf16_head", "well_formed", "payload_json", "PAYLOAD_MAX"]

#: Payloads (details, input, output, evidence) are kept up to this many characters of JSON.
PAYLOAD_MAX = 64 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_SAFE = 2 ** 53


def well_formed(s):
    """A string with any lone surrogate (half an emoji) replaced by U+FFFD, as UTF-8 encoders do."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s


def jsonable(value, _depth=0):
    """A value as it can travel as JSON, made explicit where JSON would lose or change it.

    Dict keys become strings, tuples and sets lists, NaN and infinities null, integers beyond
    2**53 (which JavaScript cannot hold) floats, dates ISO text, enums their value, dataclasses
    dicts, bytes text; anything else its str(). Strings are made well-formed.
    """
    if _depth > 64:
        return "[too deep]"
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value, _depth + 1)
    if isinstance(value, int):
        return float(value) if abs(value) > _MAX_SAFE else value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # JSON has one number type: 5.0 is the integer 5 to JavaScript, and printed so.
        return int(value) if value.is_integer() and abs(value) <= _MAX_SAFE else value
    if isinstance(value, str):
        return well_formed(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, _depth + 1)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k if isinstance(k, str) else _key(k)
            out[well_formed(key)] = jsonable(v, _depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v, _depth + 1) for v in items]
    return well_formed(str(value))


def _key(k):
    """A dict key as JavaScript would name it: true, false, null, numbers as it prints them."""
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, (int, float)):
        return js_number(k)
    return str(k)


def js_number(x):
    """A number as JavaScript's Number.prototype.toString prints it (ECMA-262 Number::toString)."""
    if isinstance(x, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(x, int) and abs(x) <= _MAX_SAFE:
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() gives the shortest digits that read back as x, as JavaScript's algorithm does.
    r = repr(abs(x))
    mantissa, _, exp = r.partition("e")
    int_part, _, frac = mantissa.partition(".")
    digits = (int_part + frac).lstrip("0")
    # n: where the decimal point falls relative to the digits (value = 0.d1d2… × 10^n).
    lead = len(int_part + frac) - len((int_part + frac).lstrip("0"))
    n = len(int_part) - lead + (int(exp) if exp else 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    es = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + es
    return sign + digits[0] + "." + digits[1:] + "e" + es


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')


def _escape_char(m):
    c = m.group(0)
    return _ESCAPES.get(c) or "\\u%04x" % ord(c)


def _js_string(s):
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, s) + '"'


def _plain(value):
    """Whether json.dumps already prints value as JSON.stringify does: no float it prints
    otherwise (1e-05, 1e+16), no key JavaScript would move to the front."""
    if isinstance(value, dict):
        for k, v in value.items():
            if _INDEX.match(k) or not _plain(v):
                return False
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, float):
        return not value.is_integer() and "e" not in repr(value)
    return True


def js_stringify(value):
    """JSON text as JSON.stringify(value) gives it, for a value made by jsonable()."""
    if _plain(value):
        # The common case at C speed: json.dumps escapes strings exactly as JSON.stringify does
        # (short escapes, \u00xx lowercase for other control characters, the rest as it is),
        # except for a lone surrogate, which the slow path escapes as JavaScript does.
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if not _SURROGATE.search(text):
            return text
    return _js_stringify(value)


def _js_stringify(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, dict):
        return "{" + ",".join(_js_string(k) + ":" + _js_stringify(v) for k, v in js_key_order(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_js_stringify(v) for v in value) + "]"
    raise TypeError("js_stringify takes what jsonable() makes, not %s" % type(value).__name__)


_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def js_key_order(d):
    """A dict's items in the order a JavaScript object keeps them once parsed: keys that are
    array indices (canonical integers below 2**32 - 1) first, ascending, then the rest as written."""
    index = [(k, v) for k, v in d.items() if _INDEX.match(k) and int(k) < 2 ** 32 - 1]
    if not index:
        return list(d.items())
    index.sort(key=lambda kv: int(kv[0]))
    return index + [(k, v) for k, v in d.items() if not (_INDEX.match(k) and int(k) < 2 ** 32 - 1)]


def utf16_len(s):
    """The length JavaScript gives a string: characters beyond U+FFFF count twice."""
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def utf16_head(s, units):
    """The first `units` UTF-16 units of s, as ingest cuts text: one fewer when the last would be
    the first half of a pair, so that no lone surrogate is left (it has no UTF-8 form).
    """
    if utf16_len(s) <= units:
        return s
    b = s.encode("utf-16-le", "surrogatepass")[: units * 2]
    if len(b) >= 2 and 0xD8 <= b[-1] <= 0xDB:
        b = b[:-2]
    return b.decode("utf-16-le", "surrogatepass")


def payload_json(value):
    """A payload as ingest stores it: its JSON text, or beyond PAYLOAD_MAX an object saying it was cut."""
    if value is None:
        return None
    text = js_stringify(value)
    n = utf16_len(text)
    if n <= PAYLOAD_MAX:
        return text
    return js_stringify({"_obs_cut": True, "original_chars": n, "head": utf16_head(text, PAYLOAD_MAX - 200)})
