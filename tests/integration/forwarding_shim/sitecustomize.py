"""Wire forwarding (and boxes) into every ``Slicebox`` of this interpreter and its children
while the facade does not do it itself.

Active only with ``SLICEBOX_TEST_WIRE_FORWARDING=1`` and this folder plus the repository root
on ``PYTHONPATH`` (see ``tests/integration/forwarding_env.py``). Python imports one
``sitecustomize``, so this one runs ``../boxes_shim/sitecustomize.py`` first (it wires boxes
when ``SLICEBOX_TEST_WIRE_BOXES=1``). Once ``Slicebox.__init__`` creates ``forwarding`` it
does nothing.
"""

import os

if os.environ.get("SLICEBOX_TEST_WIRE_FORWARDING") == "1":

    def _install() -> None:
        import runpy
        from pathlib import Path

        boxes_shim = Path(__file__).resolve().parents[1] / "boxes_shim" / "sitecustomize.py"
        if boxes_shim.exists():
            runpy.run_path(str(boxes_shim))

        import slicebox_core.app as app

        original = app.Slicebox.__init__
        if getattr(original, "_forwarding_shim", False):
            return

        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            original(self, *args, **kwargs)
            if not hasattr(self, "forwarding"):
                from tests.forwarding_wiring import wire_forwarding

                wire_forwarding(self)

        __init__._forwarding_shim = True  # type: ignore[attr-defined]
        app.Slicebox.__init__ = __init__  # type: ignore[method-assign]

    _install()
