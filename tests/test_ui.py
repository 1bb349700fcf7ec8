"""What runs only in Blender's UI, under the bpy module: Analyze's invoke and modal (the button, not the script
call) and every panel's draw.

Headless Blender sends no events: bpy.ops(..., 'INVOKE_DEFAULT') falls back to execute, and nothing calls modal.
So invoke runs through a subclass whose execute is the real invoke (the operator instance and the context are
Blender's own), and the test steps modal with timer ticks and Esc, as Blender's event loop would. Headless Blender
has no UI to draw into either (wm.popup_menu crashes the bpy module), so a panel draws into a layout that checks
every call against UILayout's own RNA definition: the function, its arguments, enum values such as icons, each
property named on its data and each operator registered.
"""

import sys
import time
import types

import bpy
import pytest

import editemotalk_addon
from editemotalk_addon.blender import operators, panels, session
from editemotalk_addon.core.rig import SLIDERS


@pytest.fixture(scope="module", autouse=True)
def addon():
    editemotalk_addon.register()
    yield
    editemotalk_addon.unregister()


@pytest.fixture
def scene(data_root, tmp_path):
    bpy.ops.wm.read_factory_settings()
    bpy.ops.editemotalk.add_demo_head(kind="STYLISED")
    clip = tmp_path / "line.flac"  # a clip of its own: never analysed before this test
    clip.write_bytes((data_root / "emodb" / "audio" / "03a01Fa.flac").read_bytes())
    bpy.context.scene.editemotalk.audio_path = str(clip)
    return bpy.context.scene


# The Analyze button: the real operator's methods (invoke, modal, ...) on a class of its own, whose execute is the
# invoke (and, for a clip already analysed, which invoke hands to execute, the real execute). A subclass of the
# registered operator would share its RNA, and unregistering it would break the real one.
ANALYZE = operators.EET_OT_analyze


def _button_execute(self, context):
    if getattr(self, "_invoked", False):  # invoke hands a clip analysed before to execute
        return ANALYZE.execute(self, context)
    self._invoked = True
    return self.invoke(context, types.SimpleNamespace(type="LEFTMOUSE"))


AnalyzeButton = type(
    "AnalyzeButton",
    (bpy.types.Operator,),
    {
        **{k: v for k, v in vars(ANALYZE).items() if not k.startswith("__") and k not in ("bl_rna", "bl_idname")},
        "bl_idname": "editemotalk_test.analyze_button",
        "execute": _button_execute,
    },
)


@pytest.fixture
def button():
    bpy.utils.register_class(AnalyzeButton)
    yield bpy.ops.editemotalk_test.analyze_button
    bpy.utils.unregister_class(AnalyzeButton)  # also ends a modal handler no event loop will end


def tick(op, kind="TIMER"):
    return op.modal(bpy.context, types.SimpleNamespace(type=kind))


def test_analyze_button_runs_in_the_background_and_modal_reports_what_was_heard(scene, button):
    session.get_animator()  # loaded once, as the first Analyze would
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window):
        assert button() == {"RUNNING_MODAL"}
        op = window.modal_operators[-1]
        path = session.audio_path(scene)
        assert session.cached_analysis(path) is None  # the clip is analysed in a thread, not before invoke returns
        assert tick(op, "MOUSEMOVE") == {"PASS_THROUGH"}  # other events pass to Blender
        for _ in range(600):
            result = tick(op)
            if result != {"PASS_THROUGH"}:
                break
            time.sleep(0.05)
    assert result == {"FINISHED"} and op._lips_shown  # what is said was stored (the face) before the voice was heard
    assert session.cached_analysis(path).voice_heard
    heard = session.cached_analysis(path).summary()
    assert scene.editemotalk.heard == heard and scene.editemotalk.status.endswith(f"heard {heard}")


def test_esc_cancels_the_analyze_button_and_keeps_nothing(scene, button):
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window):
        assert button() == {"RUNNING_MODAL"}
        op = window.modal_operators[-1]
        assert tick(op, "ESC") == {"CANCELLED"}
    assert scene.editemotalk.status == "Analysis cancelled" and scene.editemotalk.heard == ""


class Layout:
    """The layout a panel draws into, checked against bpy.types.UILayout's RNA (see the module's docstring)."""

    RNA = bpy.types.UILayout.bl_rna
    POINTER_AND_NAME = (("data", "property"), ("search_data", "search_property"), ("dataptr", "propname"))

    def __init__(self, calls: list):
        object.__setattr__(self, "calls", calls)

    def __setattr__(self, name, value):
        assert name in self.RNA.properties, f"UILayout has no property {name}"

    def __getattr__(self, name):
        fn = self.RNA.functions.get(name)
        if fn is None:
            raise AttributeError(f"UILayout has no function {name}")
        inputs = [p for p in fn.parameters if not p.is_output]

        def call(*args, **kwargs):
            names = [p.identifier for p in inputs]
            assert len(args) <= len(names), f"UILayout.{name}: {len(args)} positional arguments"
            bound = dict(zip(names, args))
            assert set(kwargs) <= set(names), f"UILayout.{name} takes no {set(kwargs) - set(names)}"
            bound |= kwargs
            for p in inputs:
                assert p.identifier in bound or not p.is_required, f"UILayout.{name} needs {p.identifier}"
                value = bound.get(p.identifier)
                if p.type == "ENUM" and value is not None:
                    values = value if p.is_enum_flag else {value}
                    assert set(values) <= {e.identifier for e in p.enum_items}, f"{name}: {p.identifier}={value}"
            for data, prop in self.POINTER_AND_NAME:
                if bound.get(data) is not None:
                    assert bound[prop] in bound[data].bl_rna.properties, f"{name}: {bound[data]} has no {bound[prop]}"
            if name == "operator":
                module, op = bound["operator"].split(".")
                rna = getattr(getattr(bpy.ops, module), op).get_rna_type()  # KeyError: no such operator
                self.calls.append((name, bound))
                return OperatorProperties(rna)
            if name == "template_list":
                assert issubclass(getattr(bpy.types, bound["listtype_name"]), bpy.types.UIList)
            self.calls.append((name, bound))
            outputs = [p for p in fn.parameters if p.is_output]
            if outputs and getattr(outputs[0], "fixed_type", None) == self.RNA:
                return Layout(self.calls)
            return None

        return call


class OperatorProperties:
    """What UILayout.operator returns: the button's operator settings, checked against that operator's RNA."""

    def __init__(self, rna):
        object.__setattr__(self, "rna", rna)

    def __setattr__(self, name, value):
        prop = self.rna.properties.get(name)
        assert prop is not None, f"{self.rna.identifier} has no property {name}"
        if prop.type == "ENUM":
            assert value in {e.identifier for e in prop.enum_items}, f"{self.rna.identifier}.{name}={value!r}"


def draw(panel) -> list:
    calls = []
    panel.draw(types.SimpleNamespace(layout=Layout(calls)), bpy.context)
    return calls


def texts(calls) -> list[str]:
    return [c.get("text", "") for name, c in calls if name == "label"]


def props(calls) -> list[str]:
    return [c["property"] for name, c in calls if name == "prop"]


def operator_ids(calls) -> list[str]:
    return [c["operator"] for name, c in calls if name == "operator"]


def test_the_panels_draw_what_the_scene_holds(scene):
    main = draw(panels.EET_PT_main)
    assert {"target", "audio_source", "audio_path", "start_frame"} <= set(props(main))
    assert "editemotalk.analyze" in operator_ids(main)
    emotion = draw(panels.EET_PT_emotion)
    assert [p for p in props(emotion) if p in SLIDERS] == list(SLIDERS)
    assert not any(t.startswith("Heard") for t in texts(emotion))  # nothing analysed: nothing heard
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}, scene.editemotalk.status
    emotion = draw(panels.EET_PT_emotion)
    assert f"Heard: {scene.editemotalk.heard}" in texts(emotion) and "editemotalk.key_heard" in operator_ids(emotion)
    assert {"editemotalk.bake", "editemotalk.clear", "editemotalk.preview"} <= set(
        operator_ids(draw(panels.EET_PT_bake))
    )
    mapping = draw(panels.EET_PT_mapping)
    assert "editemotalk.update_mapping" in operator_ids(mapping) and "template_list" in [n for n, _ in mapping]
    scene.editemotalk.target = None
    assert texts(draw(panels.EET_PT_mapping)) == ["Pick a mesh with shape keys"]
    scene.editemotalk.audio_path = scene.editemotalk.audio_path + ".other"  # another clip: nothing heard in it yet
    assert not any(t.startswith("Heard") for t in texts(draw(panels.EET_PT_emotion)))


def test_a_panel_naming_a_property_that_does_not_exist_fails_the_layout_check(scene):
    class Broken:
        def draw(self, context):
            self.layout.column().prop(context.scene.editemotalk, "happpy")

    with pytest.raises(AssertionError, match="has no happpy"):
        draw(Broken)


def test_drawing_opens_no_file_and_loads_no_model(scene):
    """A panel is drawn on every redraw: what it shows was computed by an operator, never read in draw."""
    bpy.ops.editemotalk.analyze()
    opened = []
    drawing = [False]

    def audit(event, args):
        if drawing[0] and event in ("open", "os.listdir", "os.scandir"):
            opened.append((event, args[0]))

    sys.addaudithook(audit)  # a hook stays for the process's life: it records only while `drawing` is set
    drawing[0] = True
    try:
        for panel in (panels.EET_PT_main, panels.EET_PT_emotion, panels.EET_PT_bake, panels.EET_PT_mapping):
            draw(panel)
    finally:
        drawing[0] = False
    assert opened == []
