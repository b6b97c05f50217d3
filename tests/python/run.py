#!/usr/bin/python3
"""Runs the pytest suite of this folder (the Meson test `python`): exits 77,
Meson's "skipped", with the reason when pytest is missing."""
import os
import sys

try:
    import pytest
except ImportError:
    print('SKIPPED: pytest is not installed for %s (apt-get install python3-pytest)' % sys.executable)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
# -rs prints why a test skipped; no cache folder in the source tree.
sys.exit(pytest.main([HERE, '-q', '-rs', '-p', 'no:cacheprovider'] + sys.argv[1:]))
