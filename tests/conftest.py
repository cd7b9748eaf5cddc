"Shared by the tests: a command runner and a tiny model trained once per session by the console scripts."
import os, subprocess, sys
from pathlib import Path
import pytest

def run(*args, **kw):
    "Run a command with the venv's scripts first on PATH; returns CompletedProcess (never raises on exit code)."
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONWARNINGS='ignore')
    env['PATH'] = str(Path(sys.executable).parent) + os.pathsep + env.get('PATH', '')
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, env={**env, **kw.pop('env', {})}, timeout=600, **kw)

@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    "A tiny phantom set and a model trained on it by the console scripts (64 px, one epoch)."
    tmp = tmp_path_factory.mktemp('cli')
    r = run('lung_xai_synth', tmp/'ph', '--n', 60, '--size', 64, '--seed', 5, '--layout', 'simple')
    assert r.returncode == 0, r.stderr
    r = run('lung_xai_train', '--data', tmp/'ph', '--out', tmp/'run', '--size', 64, '--epochs', 1, '--bs', 16)
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp
