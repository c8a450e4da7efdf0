"""`obs tail` shows a Python agent's work while it happens: what the producers flush reaches it."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import support  # noqa: F401  (puts the package on the path)
from obs_producers import ToolUseLogger
from support import NODE, OBS_BIN, TempDirTest, need_obs, obs


class Live(TempDirTest):
    def test_obs_tail_follows_the_record_as_it_is_written(self):
        need_obs()
        self.assertEqual(obs("init", "--db", self.db)[0], 0)
        w = self.writer("exec-tail", flush_interval=0.05)
        w.write({"entry_type": "phase_start", "summary": "started"})
        w.flush()
        tail = subprocess.Popen([NODE, OBS_BIN, "tail", "exec-tail", "--json", "--db", self.db], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"})
        seen = []
        reader = threading.Thread(target=lambda: [seen.append(json.loads(l)) for l in tail.stdout], daemon=True)
        reader.start()
        try:
            time.sleep(0.5)  # tail is following
            tools = ToolUseLogger(w)
            call = tools.log_start({"id": "toolu_live", "name": "Bash", "input": {"command": "make"}})
            tools.log_end(call, {"content": "ok", "is_error": False})
            written = time.time()
            deadline = written + 10
            while time.time() < deadline and not any(e.get("type") == "tool:end" and e.get("toolUseId") == "toolu_live" for e in seen):
                time.sleep(0.02)
            arrived = time.time() - written
        finally:
            tail.send_signal(signal.SIGINT)
            tail.wait(timeout=10)
            w.close()
        self.assertTrue(any(e.get("type") == "tool:start" and e.get("toolUseId") == "toolu_live" for e in seen), seen)
        self.assertTrue(any(e.get("type") == "tool:end" and e.get("toolUseId") == "toolu_live" and e.get("resultStatus") == "done" for e in seen), seen)
        self.assertLess(arrived, 5, "reached tail within a flush interval or so")


if __name__ == "__main__":
    unittest.main()
