"""A local stand-in for the Intel Simulation Service, for development and tests.

``python -m iss_client.devserver --port 8765`` serves on 127.0.0.1 only; in tests use
``DevServer(port=0).start()`` and its ``url``, ``token_url``, ``inject_fault`` and ``stats``.
"""

from __future__ import annotations

from jobprobe.iss_client.devserver.server import FAULT_KINDS, DevServer, Fault

__all__ = ["FAULT_KINDS", "DevServer", "Fault"]
