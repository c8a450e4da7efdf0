"""The Python producers make the same text as the TypeScript ones and as JavaScript itself:
summaries, tool facts, and JSON (numbers, escapes, key order, cut payloads)."""

import json
import os
import unittest

import support  # noqa: F401  (puts the package on the path)
from obs_producers._jsjson import js_number, js_stringify, jsonable, payload_json, utf16_head, utf16_len
from obs_producers._text import content_text, one_line, summarise_input, tool_category
from support import DIST, node_eval

TEXTS = [
    "", "plain", "  leading and trailing  ", "tabs\tand\nnew\r\nlines", "runs   of    spaces", "nbsp\u00a0inside", "two\u00a0\u00a0nbsp",
    "bom\ufeff\ufeffrun", "em\u2003\u2003space", "x" * 199, "x" * 200, "x" * 201, "a" * 198 + "🚀 and more", "b" * 197 + "🚀 and more",
    "🚀" * 150, "é" * 300, "line\u2028sep", "\u3000ideographic\u3000",
]
INPUTS = [
    None, "a command line", {"command": "npm test"}, {"file_path": "src/a.ts", "content": "x"}, {"pattern": "TODO", "path": "src"},
    {"pattern": "TODO"}, {"url": "https://example.com"}, {"query": ""}, {"other": 1, "nested": {"a": [1, 2]}}, [1, "two"],
    {"command": "x" * 300}, {"prompt": "do it 🚀" * 40},
]
CONTENTS = [None, "text", [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}], [{"type": "image", "source": {"data": "x"}}],
            ["bare string"], {"k": "v"}]
VALUES = [
    0, 1, -1, 1.5, 1.0, 100.0, 1e21, 1e20, 1.5e-7, 1e-6, 0.000001234, 2 ** 53, 2 ** 53 + 1, 2 ** 60, 123456789012345678901234, 1 / 3,
    5e-324, 1e300, -0.0, "quote\" back\\slash", "\x00\x01\x1f\x7f", "\u2028\u2029", "🚀", True, False, None,
    {"b": 1, "a": 2, "10": 3, "2": 4, "01": 5, "-1": 6, "4294967294": 7, "4294967295": 8}, [1, [2, [3]]], {"": ""},
]
TOOLS = ["Read", "Glob", "Grep", "Write", "Edit", "MultiEdit", "NotebookEdit", "Bash", "WebFetch", "WebSearch", "Task", "TodoWrite",
         "mcp__puppeteer__navigate", "read", ""]


class SameTextAsTypeScript(unittest.TestCase):
    def test_summaries_inputs_contents_and_categories(self):
        text = os.path.join(DIST, "producers", "text.js")
        theirs = node_eval("""
            import { oneLine, summariseInput, contentText, toolCategory } from %s;
            const input = JSON.parse(await new Promise((r) => { let s = ""; process.stdin.on("data", (d) => (s += d)); process.stdin.on("end", () => r(s)); }));
            process.stdout.write(JSON.stringify({
              lines: input.texts.map((t) => oneLine(t)), inputs: input.inputs.map((v) => summariseInput(v)),
              contents: input.contents.map((v) => contentText(v)), tools: input.tools.map((t) => toolCategory(t)),
            }));
        """ % json.dumps(text), {"texts": TEXTS, "inputs": INPUTS, "contents": CONTENTS, "tools": TOOLS})
        self.assertEqual([one_line(t) for t in TEXTS], theirs["lines"])
        self.assertEqual([summarise_input(v) for v in INPUTS], theirs["inputs"])
        self.assertEqual([content_text(v) for v in CONTENTS], theirs["contents"])
        self.assertEqual([tool_category(t) for t in TOOLS], theirs["tools"])
        for t in TEXTS:
            self.assertLessEqual(utf16_len(one_line(t)), 200)

    def test_json_as_javascript_prints_what_it_parses(self):
        lines = [js_stringify(jsonable(v)) for v in VALUES]
        theirs = node_eval("""
            const input = JSON.parse(await new Promise((r) => { let s = ""; process.stdin.on("data", (d) => (s += d)); process.stdin.on("end", () => r(s)); }));
            process.stdout.write(JSON.stringify(input.map((l) => JSON.stringify(JSON.parse(l)))));
        """, lines)
        self.assertEqual(lines, theirs, "what Python writes is a fixed point of JSON.parse then JSON.stringify")

    def test_numbers_by_hand(self):
        # From ECMA-262's Number::toString (as node prints these), not from obs.
        cases = {1.0: "1", 1e21: "1e+21", 1e20: "100000000000000000000", 1.5e-7: "1.5e-7", 1e-6: "0.000001", -0.0: "0",
                 123456789012345678901234: "1.2345678901234569e+23", 2 ** 60: "1152921504606847000", 0.1 + 0.2: "0.30000000000000004"}
        for value, text in cases.items():
            self.assertEqual(js_number(jsonable(value)), text, repr(value))

    def test_payloads_are_cut_as_ingest_cuts_them(self):
        shape = os.path.join(DIST, "ingest", "shape.js")
        values = [{"small": "x"}, "a" * 70000, {"text": '"' * 40000}, "🚀" * 40000, "x" * (65536 - 2 - 200 - 1) + "🚀" * 100]
        theirs = node_eval("""
            import { payloadJson } from %s;
            const input = JSON.parse(await new Promise((r) => { let s = ""; process.stdin.on("data", (d) => (s += d)); process.stdin.on("end", () => r(s)); }));
            process.stdout.write(JSON.stringify(input.map((v) => payloadJson(v))));
        """ % json.dumps(shape), values)
        self.assertEqual([payload_json(jsonable(v)) for v in values], theirs)
        self.assertTrue(theirs[1].startswith('{"_obs_cut":true,"original_chars":70002,'))

    def test_utf16_slices(self):
        self.assertEqual(utf16_len("a🚀"), 3)
        self.assertEqual(utf16_head("a🚀b", 2), "a", "a character that would be split is left out whole, as ingest cuts")
        self.assertEqual(utf16_head("a🚀b", 3), "a🚀")
        self.assertEqual(js_stringify(utf16_head("a🚀b", 2)), '"a"')


if __name__ == "__main__":
    unittest.main()
