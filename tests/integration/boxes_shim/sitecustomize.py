"""Wire boxes into every ``Slicebox`` of this interpreter and its children (gunicorn workers,
the ``slicebox worker`` child of ``slicebox serve``) while the facade does not do it itself.

Active only with ``SLICEBOX_TEST_WIRE_BOXES=1`` and this folder plus the repository root on
``PYTHONPATH`` (see ``tests/integration/servers.py``). Once ``Slicebox.__init__`` creates
``boxes`` and ``slicebox worker`` sets the peer factory, it does nothing.
"""

import os

if os.environ.get("SLICEBOX_TEST_WIRE_BOXES") == "1":

    def _install() -> None:
        import slicebox_core.app as app

        original = app.Slicebox.__init__
        if getattr(original, "_boxes_shim", False):
            return

        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            original(self, *args, **kwargs)
            if not hasattr(self, "boxes"):
                from tests.boxes_wiring import wire_boxes

                from slicebox_client.peer import HttpBoxPeer

                wire_boxes(self).peer_factory = HttpBoxPeer.for_url
            elif self.boxes.peer_factory is None:
                from slicebox_client.peer import HttpBoxPeer

                self.boxes.peer_factory = HttpBoxPeer.for_url

        __init__._boxes_shim = True  # type: ignore[attr-defined]
        app.Slicebox.__init__ = __init__  # type: ignore[method-assign]

    _install()
