"lung_xai_bench as a user runs it: a small configuration, the table, and the JSON with baselines and ratios (no timing is asserted)."
import json
from conftest import run

def test_bench_cli(tmp_path):
    out = tmp_path/'bench.json'
    r = run('lung_xai_bench', '--arch', 'resnet18', '--size', 64, '--repeats', 2, '--only', 'serving,audit', '--json', out)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(out.read_text())
    assert {row['section'] for row in rows} == {'serving', 'audit'}
    assert all('ratio' in row and row['baseline'] > 0 for row in rows if row.get('baseline_name'))
    assert 'near-duplicate pairs, 100,000 hashes' in r.stdout and 'pytorch-grad-cam' in r.stdout

def test_bench_bad_section():
    r = run('lung_xai_bench', '--only', 'tpu')
    assert r.returncode == 2 and 'expected some of serving' in r.stderr and 'Traceback' not in r.stderr, r.stderr
