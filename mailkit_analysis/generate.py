"""``python -m mailkit_analysis.generate``: write a realistic cache of any size.

The generator lives with the simulator (:mod:`mailkit_analysis.simulator.generate`); this
entry point keeps the documented command working.
"""
import sys

from .simulator.generate import main

if __name__ == "__main__":
    sys.exit(main())
