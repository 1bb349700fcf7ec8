"""The code's shape, from its real import graph: no circles anywhere, the extension imports nothing of the research
side, its core is bpy-free and light, nothing is loaded by name, and the zip carries the extension alone."""

import ast
import subprocess
import sys
import zipfile

from conftest import ROOT

ADDON = ROOT / "editemotalk_addon"
CORE = ADDON / "core"


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path) -> bool:
    return path.name == "__init__.py"


def source_files() -> list:
    return sorted(
        p
        for p in [ROOT / "build.py", *ADDON.rglob("*.py"), *(ROOT / "model").rglob("*.py")]
        if "__pycache__" not in p.parts
    )


def imports(path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports too), as absolute names; `from P import x` names the
    submodule P.x where x is one."""
    package = module_name(path) if is_package(path) else module_name(path).rpartition(".")[0]
    known = {module_name(p) for p in source_files()}
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module
            subs = {f"{module}.{a.name}" for a in node.names} & known
            out |= subs or {module}
            if subs and len(subs) < len(node.names):
                out.add(module)
    return out


def graph() -> dict[str, set[str]]:
    files = source_files()
    names = {module_name(p) for p in files}
    return {module_name(p): {m for m in imports(p) if m in names and m != module_name(p)} for p in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in g:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_circle():
    g = graph()
    assert len(g) > 80 and "editemotalk_addon.core.animator" in g["editemotalk_addon.blender.session"]
    assert cycles(g) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_extension_imports_nothing_of_the_research_side_and_nothing_by_name():
    for path in ADDON.rglob("*.py"):
        text = path.read_text()
        bad = {m for m in imports(path) if m.split(".")[0] in ("model", "build", "tests", "sklearn", "importlib")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
        assert "import_module" not in text and "__import__" not in text, path


def test_the_extension_never_edits_sys_path():
    """Blender's extension platform: an extension imports what it bundles, never by changing the import path."""
    for path in ADDON.rglob("*.py"):
        assert "sys.path" not in path.read_text(), path.relative_to(ROOT)


def test_the_core_is_bpy_free_and_torch_lives_only_in_its_optional_backend():
    for path in CORE.rglob("*.py"):
        top = {m.split(".")[0] for m in imports(path)}
        assert not top & {"bpy", "bpy_extras", "mathutils"}, path
        assert not {m for m in imports(path) if m.startswith("editemotalk_addon.blender")}, path
        if "network" not in path.relative_to(CORE).parts:
            assert "torch" not in top, path


def test_importing_the_whole_core_loads_no_heavy_package():
    """Nor bpy where a batch driver starts its workers (blender/batch.py): they start from a Python without it."""
    names = [module_name(p) for p in CORE.glob("*.py") if p.stem != "__init__"]
    code = (
        f"import sys; import {', '.join(names)}; import editemotalk_addon, editemotalk_addon.cli; "
        "import editemotalk_addon.blender.batch; "
        "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy', 'librosa', 'sklearn', "
        "'soundfile', 'onnx', 'bpy', 'model')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []


def test_the_zip_is_the_extension_folder_with_weights_and_wheels(linux_zip):
    names = set(zipfile.ZipFile(linux_zip).namelist())
    ours = {p.relative_to(ADDON).as_posix() for p in ADDON.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    extra = {n for n in names - ours if not n.startswith(("weights/", "wheels/")) and n != "blender_manifest.toml"}
    assert ours <= names and extra == set()
    assert not any(n.startswith(("model/", "tests/")) for n in names)
    for name in (n for n in names if n.endswith(".py")):
        text = zipfile.ZipFile(linux_zip).read(name).decode()
        tree = ast.parse(text)
        top = {
            (a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
            for a in (node.names if isinstance(node, ast.Import) else [node])
        }
        assert not top & {"sklearn", "model"}, name
        assert "torch" not in top or name.startswith("core/network/"), name


def test_a_skipped_test_fails_the_suite(tmp_path):
    test = "import pytest\n\ndef test_needs_bpy():\n    pytest.importorskip('no_such_module')\n"
    (tmp_path / "test_skips.py").write_text(test)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no_skips", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "tests")}, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 1 and "1 failed" in run.stdout, run.stdout
