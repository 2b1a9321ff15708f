"""pytemp (module) -- the Python template service's worker.

A worker imports this file as the module `pytemp` from MODULES (MODULES/pytemp/ is this
folder once installed), so settings.json's "worker": "pytemp.worker" is `worker` below. The
code lives in main.py; importing it here is all settings.json needs, as in the original.
"""

from .main import worker

__all__ = ["worker"]
