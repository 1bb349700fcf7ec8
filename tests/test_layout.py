"""The code's shape: runtime stands alone, the add-on's modules form no cycle, the zip carries the runtime only."""

import ast
import subprocess
import sys

from conftest import ROOT

RUNTIME = ROOT / "model" / "runtime"


def _imports(path) -> set[str]:
    """Every module a file imports (at any depth, lazily or not), as absolute names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out |= {module} | {f"{module}.{a.name}" for a in node.names}
    return out


def test_runtime_imports_nothing_from_training_or_evaluation():
    for path in RUNTIME.glob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(("model.training", "model.evaluation"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_the_whole_runtime_loads_no_training_code_and_no_heavy_package():
    names = ", ".join(sorted(p.stem for p in RUNTIME.glob("*.py") if p.stem != "__init__"))
    code = (
        f"import sys; from model.runtime import {names}; "
        "print('\\n'.join(m for m in sys.modules if m.startswith(('model.', 'torch', 'scipy', 'librosa', "
        "'sklearn', 'soundfile', 'onnx'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = loaded.stdout.split()
    assert "model.runtime.animator" in modules
    assert [m for m in modules if not m.startswith("model.runtime")] == []


def test_cli_batch_and_jobs_form_no_import_cycle():
    addon = ROOT / "editemotalk_addon"
    graph = {
        p.stem: {m.rsplit(".", 1)[-1] for m in _imports(p) if m.startswith("editemotalk_addon.")}
        for p in addon.glob("*.py")
    }
    assert "cli" not in graph["batch"] and "cli" not in graph["jobs"] and "batch" not in graph["jobs"]


def test_a_skipped_test_fails_the_suite(tmp_path):
    test = "import pytest\n\ndef test_needs_bpy():\n    pytest.importorskip('no_such_module')\n"
    (tmp_path / "test_skips.py").write_text(test)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no_skips", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "tests")}, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 1 and "1 failed" in run.stdout, run.stdout
