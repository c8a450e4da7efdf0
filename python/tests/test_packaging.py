"""The package as pip installs it: what pyproject.toml declares."""

import os
import sys
import unittest

from support import PYTHON_DIR


class Packaging(unittest.TestCase):
    @unittest.skipUnless(sys.version_info >= (3, 11), "reading pyproject.toml needs tomllib (Python 3.11)")
    def test_pyproject_ships_the_package_with_obs_queries_and_schema_and_needs_nothing(self):
        import tomllib

        with open(os.path.join(PYTHON_DIR, "pyproject.toml"), "rb") as f:
            p = tomllib.load(f)
        self.assertEqual(p["project"]["dependencies"], [])
        self.assertEqual(p["project"]["requires-python"], ">=3.9")
        self.assertEqual(p["tool"]["setuptools"]["packages"], ["obs_producers"])
        data = p["tool"]["setuptools"]["package-data"]["obs_producers"]
        for name in data:
            self.assertTrue(os.path.exists(os.path.join(PYTHON_DIR, "obs_producers", name)), name)
        self.assertEqual(sorted(data), ["obs_queries.json", "obs_schema.json"])

    def test_the_modules_the_seed_names_are_in_the_package(self):
        for m in ("transcript_writer", "tool_use_logger", "skill_tracer", "assertion_recorder", "observability_skills"):
            self.assertTrue(os.path.exists(os.path.join(PYTHON_DIR, "obs_producers", m + ".py")), m)


if __name__ == "__main__":
    unittest.main()
