"The docs site's raw material: every exported symbol documented, every notebook with prose, saved outputs free of noise."
import importlib, inspect, json, re
from pathlib import Path
import pytest

NBS = Path(__file__).resolve().parent.parent/'nbs'
NOTEBOOKS = sorted(NBS.glob('*.ipynb'))
BAR = re.compile(r'\d+\.\d+% \[\d+/\d+|Epoch \d+/\d+ :')   # fastprogress bars as they land in saved outputs
PYWARN = re.compile(r'[A-Za-z]Warning: |Traceback \(most recent')   # Python warnings (FutureWarning: ...) and tracebacks, not the app's own '⚠️ Warning:'

def _cells(nb): return json.loads(nb.read_text())['cells']
def _src(c): return ''.join(c['source'])

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_prose(nb):
    words = sum(len(_src(c).split()) for c in _cells(nb) if c['cell_type'] == 'markdown')
    assert words >= 150, f'{nb.name}: {words} words of prose; a page needs to say what it is for and how to read it'

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_outputs_are_clean(nb):
    for c in _cells(nb):
        for o in c.get('outputs', []):
            text = ''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', ''))
            where = f'{nb.name}, cell {_src(c)[:60]!r}'
            assert not BAR.search(text), f'{where}: a progress bar in a saved output'
            assert not PYWARN.search(text), f'{where}: a warning or traceback in a saved output'

def _exported_modules():
    idx = importlib.import_module('lung_xai._modidx').d['syms']
    return sorted(idx)

@pytest.mark.parametrize('mod', _exported_modules())
def test_exported_symbols_have_docstrings(mod):
    m = importlib.import_module(mod)
    missing = [n for n in getattr(m, '__all__', []) if callable(getattr(m, n)) and not (getattr(m, n).__doc__ or '').strip()]
    assert not missing, f'{mod}: no docstring on {missing}'
