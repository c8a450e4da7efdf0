#!/usr/bin/env python3
"""Counts in the raw fixture files of test/fixtures/{codex,gemini-cli,claude-stream-json},
worked out without obs, for the expectations of test/formats.test.ts:

    python3 test/fixture-counts.py

Codex: a tool call is a response_item whose type ends in _call; it failed when its
exec_command_end has a non-zero exit code, its patch_apply_end did not succeed, its output
carries a non-zero exit code (a JSON envelope's metadata.exit_code, "Process exited with code N",
"Exit code: N"; a write_stdin poll's exit code is its process's, given to the exec_command that
started it), a command tool's output has no exit code at all (refused before it ran), or the
output's text starts by saying it was rejected/denied/refused/failed. Model calls are the rises
of token_count's cumulative total_token_usage; tokens the sums of those rises.
Gemini: messages by id, the last copy of each winning; tool calls are their toolCalls, failed
when status is "error"; a model call per message with tokens.
claude -p stream-json: tool_use blocks by id, failed when their tool_result has is_error; a model
call per message.id with usage (each field the largest of its lines), plus one per model whose
result.modelUsage counts more than those.
"""
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SHELL = {"shell", "container.exec", "local_shell", "shell_command", "exec_command"}
REFUSED = re.compile(r"^(?:[\w.\- ]{0,60}?\b(?:rejected|denied|refused)\b|[\w.\-]+ failed\b|failed\b|(?:\w+ )?error:|unsupported call\b)", re.I)
HEADER = re.compile(r"^(?:Chunk ID|Wall time|Process exited with code|Process running with session ID|Original token count|Total output lines|Exit code)\b")


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def body_of(text):
    parts = text.split("\n")
    i = 0
    while i < len(parts) and HEADER.match(parts[i]):
        i += 1
    if i and i < len(parts) and parts[i] == "Output:":
        i += 1
    body = "\n".join(parts[i:]) if i else text
    if body.lstrip().startswith("["):
        try:
            body = "\n".join(c.get("text", "") for c in json.loads(body) if isinstance(c, dict) and c.get("text"))
        except ValueError:
            pass
    return body


def codex(path):
    rows = lines(path)
    calls, order = {}, []
    for r in rows:
        p = r.get("payload") or {}
        t = p.get("type", "")
        if r["type"] == "response_item" and t.endswith("_call"):
            cid = p.get("call_id") or p.get("id") or f"line{len(order)}"
            args = p.get("arguments")
            try:
                args = json.loads(args) if isinstance(args, str) else args
            except ValueError:
                pass
            calls[cid] = {"name": p.get("name") or t[:-5], "args": args}
            order.append(cid)
    exit_end, patch_ok, outputs, running = {}, {}, {}, {}
    for r in rows:
        p = r.get("payload") or {}
        t = p.get("type", "")
        if t == "exec_command_end":
            exit_end[p["call_id"]] = p.get("exit_code")
        elif t == "patch_apply_end":
            patch_ok[p["call_id"]] = p.get("success") is not False
        elif t.endswith("_output") and "call_id" in p:
            outputs[p["call_id"]] = p["output"]
    polled = {}
    for cid, out in outputs.items():
        text = out if isinstance(out, str) else json.dumps(out)
        m = re.search(r"Process running with session ID\s+(\S+)", text)
        # The command that started the process, not a poll that found it still running.
        if m and calls.get(cid, {}).get("name") != "write_stdin":
            running.setdefault(m.group(1), cid)
    for cid, out in outputs.items():
        if calls.get(cid, {}).get("name") == "write_stdin":
            m = re.search(r"(?:^|\n)(?:Process exited with code|Exit code:)\s*(-?\d+)", out)
            target = running.get(str((calls[cid]["args"] or {}).get("session_id")))
            if m and target and target not in exit_end:
                polled[target] = int(m.group(1))
    failed = 0
    for cid in order:
        name = calls[cid]["name"]
        if cid in patch_ok:
            failed += not patch_ok[cid]
            continue
        if cid in exit_end or cid in polled:
            failed += (exit_end.get(cid, polled.get(cid)) or 0) != 0
            continue
        if name == "web_search" or cid not in outputs:
            continue
        text = outputs[cid] if isinstance(outputs[cid], str) else json.dumps(outputs[cid])
        code = None
        try:
            env = json.loads(text)
            if isinstance(env, dict) and isinstance(env.get("metadata"), dict) and "exit_code" in env["metadata"]:
                code = env["metadata"]["exit_code"]
                text = env.get("output", "")
        except ValueError:
            pass
        if code is None:
            m = re.search(r"(?:^|\n)(?:Process exited with code|Exit code:)\s*(-?\d+)", text)
            code = int(m.group(1)) if m else None
        if code is not None and name != "write_stdin":
            failed += code != 0
        elif code is not None or "Process running with session ID" in text:
            pass
        elif name in SHELL:
            failed += 1
        elif REFUSED.match(body_of(text).lstrip()):
            failed += 1
    prev, model_calls = None, 0
    tok = {"input": 0, "cached": 0, "output": 0, "reasoning": 0}
    for r in rows:
        p = r.get("payload") or {}
        if p.get("type") != "token_count" or not (p.get("info") or {}).get("total_token_usage"):
            continue
        u = p["info"]["total_token_usage"]
        cur = {"input": u["input_tokens"], "cached": u.get("cached_input_tokens", 0), "output": u["output_tokens"], "reasoning": u.get("reasoning_output_tokens", 0), "total": u["total_tokens"]}
        if prev and cur["total"] == prev["total"]:
            continue
        base = prev or {k: 0 for k in cur}
        for k in tok:
            tok[k] += cur[k] - base[k]
        model_calls += 1
        prev = cur
    turns = sum(1 for r in rows if (r.get("payload") or {}).get("type") == "user_message")
    return {"tools": len(order), "failed": failed, "calls": model_calls, "uncached_input": tok["input"] - tok["cached"], "cached": tok["cached"], "output": tok["output"], "reasoning": tok["reasoning"], "turns": turns}


def gemini(path):
    text = open(path, encoding="utf-8").read()
    msgs = {}
    try:
        whole = json.loads(text)
        for m in whole["messages"]:
            msgs[m["id"]] = m
    except ValueError:
        for l in text.splitlines():
            if not l.strip():
                continue
            o = json.loads(l)
            if isinstance(o.get("id"), str) and isinstance(o.get("type"), str):
                msgs[o["id"]] = o
    tools = [tc for m in msgs.values() for tc in (m.get("toolCalls") or [])]
    with_tokens = [m for m in msgs.values() if m.get("tokens")]
    def prompt(m):
        c = m.get("displayContent") if m.get("displayContent") is not None else m.get("content")
        if isinstance(c, str):
            return c.strip()
        return "\n".join(p.get("text", "") for p in (c or []) if isinstance(p, dict) and not p.get("thought")).strip()
    return {
        "tools": len(tools), "failed": sum(1 for t in tools if t.get("status") == "error"), "calls": len(with_tokens),
        "uncached_input": sum(m["tokens"]["input"] - m["tokens"]["cached"] + m["tokens"].get("tool", 0) for m in with_tokens),
        "cached": sum(m["tokens"]["cached"] for m in with_tokens),
        "output": sum(m["tokens"]["output"] + m["tokens"].get("thoughts", 0) for m in with_tokens),
        "reasoning": sum(m["tokens"].get("thoughts", 0) for m in with_tokens),
        "turns": sum(1 for m in msgs.values() if m["type"] == "user" and prompt(m)),
    }


def claude_stream(path):
    rows = lines(path)
    tools, errors, resp = {}, set(), {}
    for r in rows:
        msg = r.get("message") or {}
        for b in msg.get("content") or [] if isinstance(msg.get("content"), list) else []:
            if b.get("type") == "tool_use":
                tools[b["id"]] = b["name"]
            if b.get("type") == "tool_result" and b.get("is_error"):
                errors.add(b["tool_use_id"])
        if r["type"] == "assistant" and msg.get("usage"):
            u, cur = msg["usage"], resp.setdefault(msg["id"], {"model": msg["model"], "input": 0, "output": 0, "read": 0, "write": 0})
            cur["input"] = max(cur["input"], u.get("input_tokens", 0))
            cur["output"] = max(cur["output"], u.get("output_tokens", 0))
            cur["read"] = max(cur["read"], u.get("cache_read_input_tokens", 0))
            cur["write"] = max(cur["write"], u.get("cache_creation_input_tokens", 0))
    result = next(r for r in rows if r["type"] == "result")
    extra = 0
    for model, mu in result["modelUsage"].items():
        mine = [c for c in resp.values() if c["model"] == model]
        seen = {k: sum(c[k] for c in mine) for k in ("input", "output", "read", "write")}
        if mu["inputTokens"] > seen["input"] or mu["outputTokens"] > seen["output"] or mu["cacheReadInputTokens"] > seen["read"] or mu["cacheCreationInputTokens"] > seen["write"]:
            extra += 1
    mu = result["modelUsage"]
    return {
        "tools": len(tools), "failed": len(errors & set(tools)), "calls": len(resp) + extra,
        "input": sum(m["inputTokens"] for m in mu.values()), "output": sum(m["outputTokens"] for m in mu.values()),
        "cache_read": sum(m["cacheReadInputTokens"] for m in mu.values()), "cache_write": sum(m["cacheCreationInputTokens"] for m in mu.values()),
        "cost": result["total_cost_usd"], "subagents": len({r["parent_tool_use_id"] for r in rows if r.get("parent_tool_use_id")}),
    }


if __name__ == "__main__":
    for folder, fn in (("codex", codex), ("gemini-cli", gemini), ("claude-stream-json", claude_stream)):
        for d, _, files in sorted(os.walk(os.path.join(ROOT, folder))):
            for f in sorted(files):
                if f.endswith((".json", ".jsonl")):
                    print(f"{folder}/{os.path.relpath(os.path.join(d, f), os.path.join(ROOT, folder))}", json.dumps(fn(os.path.join(d, f))))
    sys.exit(0)
