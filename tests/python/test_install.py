"""`meson install` puts the package where Debian's python3 finds it and
points it at the installed libkiln: installs the build into a temporary
folder (--destdir), then imports the staged package in a fresh python3 and
compiles the example with it."""
import glob
import os
import subprocess
import sys

import pytest

from conftest import MLP

BUILD = os.environ.get('KILN_TEST_BUILD_DIR')


@pytest.mark.skipif(not BUILD, reason='KILN_TEST_BUILD_DIR (the Meson build folder) is not set: run through meson test')
def test_meson_install_layout(tmp_path):
    stage = str(tmp_path / 'stage')
    r = subprocess.run(['meson', 'install', '-C', BUILD, '--destdir', stage, '--no-rebuild', '--quiet'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    configs = glob.glob(os.path.join(stage, '**', 'kiln', '_config.py'), recursive=True)
    assert len(configs) == 1, configs
    pkg = os.path.dirname(configs[0])
    assert sorted(f for f in os.listdir(pkg) if f.endswith('.py')) == ['__init__.py', '_config.py', '_lib.py']
    site = os.path.dirname(pkg)[len(stage):]
    # For the prefixes Debian's python3 searches, no PYTHONPATH is needed.
    if site.startswith(('/usr/local/', '/usr/lib/')):
        assert site in sys.path, '%s is not on python3\'s path %s' % (site, sys.path)
    cfg = {}
    exec(open(configs[0]).read(), cfg)
    lib = stage + cfg['INSTALLED_LIBRARY']
    assert os.path.exists(lib), 'the package names %s, which the install did not write' % cfg['INSTALLED_LIBRARY']
    # The staged package with the staged library (KILN_LIBRARY stands in
    # for the final location, which the stage is not).
    env = dict(os.environ, PYTHONPATH=stage + site, KILN_LIBRARY=lib)
    code = ('import kiln, numpy as np; print(kiln.__file__); '
            'p = kiln.compile(%r)(np.ones((2, 64), np.float32)); '
            'print(p.shape, np.allclose(p.sum(axis=1), 1, atol=1e-5))' % MLP)
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == os.path.join(stage + site, 'kiln', '__init__.py') and out[1] == '(2, 10) True', out
