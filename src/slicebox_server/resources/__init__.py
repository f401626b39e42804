"""One module of resources per area of the spec (§3.x); :mod:`..routes` wires them to URLs."""
