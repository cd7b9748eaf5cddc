"Console scripts and fresh-process loading: what a user does from a shell, each in its own Python process."
import json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import run

def test_version():
    r = run(sys.executable, '-c', 'import lung_xai; print(lung_xai.__version__)')
    assert r.returncode == 0 and r.stdout.strip().count('.') == 2

def test_outputs(trained):
    out = trained/'run'
    for f in ['lr_find.png', 'metrics.png', 'confusion_matrix.png', 'roc.png', 'reliability.png', 'report.md', 'report.json',
              'metrics.json', 'model.pkl', 'model.safetensors', 'config.json', 'run.json']:
        assert (out/f).stat().st_size > 0, f
    m = json.loads((out/'metrics.json').read_text())
    assert m['split']['how'] == 'grouped' and set(m['split']['groups_straddling'].values()) == {0}
    assert m['split']['n_test'] > 0 and m['split']['test']['kind'] == 'holdout'
    rep = json.loads((out/'report.json').read_text())
    assert rep['split']['name'] == 'test' and rep['split']['n'] == m['split']['n_test'] and rep['valid']['split']['name'] == 'valid'
    assert 'test' in json.loads((out/'config.json').read_text())['metrics']
    assert {'accuracy', 'macro_f1', 'recall_malignant'} <= set(m['valid'])
    assert len(list((out/'gradcam_samples').glob('*.png'))) >= 2   # one patient per class present in the small test set
    assert json.loads((out/'config.json').read_text())['resize'] == 'body'   # the default, recorded for every serving path
    md = (out/'report.md').read_text()
    assert '## Shortcut test' in md and '| left-right flip |' in md and '| JPEG quality 30 |' in md
    assert {r['change'] for r in rep['shortcuts']} >= {'left-right flip', 'JPEG quality 30'}

def test_pkl_and_bundle_in_fresh_process(trained):
    "load_learner(model.pkl).predict works with no notebook globals, and the bundle gives the same probabilities."
    fn = trained/'ph'/'malignant'/'malignant_1.png'
    code = f'''
import warnings; warnings.simplefilter("ignore")
from fastai.vision.all import load_learner
from lung_xai.serve import load_bundle
label, idx, probs = load_learner(r"{trained/'run'/'model.pkl'}").predict(r"{fn}")
assert label in ("Normal", "Benign", "Malignant") and int(idx) == ["Normal", "Benign", "Malignant"].index(label)
assert abs(float(probs.sum()) - 1) < 1e-5
pb = load_bundle(r"{trained/'run'}").predict(r"{fn}")[2]
assert (pb - probs).abs().max() < 1e-5, (pb, probs)
print("ok", label, probs.tolist())
'''
    r = run(sys.executable, '-c', code)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1].startswith('ok'), r.stdout + r.stderr

def test_predict_goes_on_after_a_bad_file(trained, tmp_path):
    bad = tmp_path/'broken.jpg'; bad.write_bytes(b'\xff\xd8\xff\xe0 cut')
    good = trained/'ph'/'normal'/'normal_1.png'
    r = run('lung_xai_predict', good, bad, good, '--model', trained/'run')
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert 'on the test set' in lines[0]
    assert sum(l.startswith(str(good)) for l in lines) == 2
    assert all(('prediction set)' in l or 'No reliable answer' in l) for l in lines if l.startswith(str(good))), lines   # the answer first
    assert sum(l.strip().startswith('most likely') for l in lines) == 2
    assert any(str(bad) in l and 'truncated' in l for l in lines)
    assert 'Traceback' not in r.stderr

@pytest.mark.parametrize('args,msg', [
    (['--out', '{run}'], 'holds a different run'),                    # occupied output folder
    (['--pretrained', '--out', '{tmp}/p'], '--no-pretrained'),         # offline, no cached weights: fail fast
    (['--arch', 'vgg16', '--out', '{tmp}/a'], 'expected one of resnet18'),
    (['--data', '{tmp}/nowhere', '--out', '{tmp}/n'], 'not a folder'),
    (['--resize', 'stretch', '--out', '{tmp}/r'], 'expected one of body, pad, padrand, crop, squash'),
])
def test_train_user_errors(trained, tmp_path, args, msg):
    args = [a.format(run=trained/'run', tmp=tmp_path) for a in args]
    if '--data' not in args: args += ['--data', str(trained/'ph')]
    r = run('lung_xai_train', *args, '--size', 64, env={'TORCH_HOME': str(tmp_path/'torch_home')})
    assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_predict_refuses_corrupt_bundle(trained, tmp_path):
    import shutil
    d = tmp_path/'bundle'; shutil.copytree(trained/'run', d)
    b = bytearray((d/'model.safetensors').read_bytes()); b[-5] ^= 1; (d/'model.safetensors').write_bytes(bytes(b))
    r = run('lung_xai_predict', trained/'ph'/'normal'/'normal_1.png', '--model', d)
    assert r.returncode == 2 and 'SHA-256 does not match' in r.stderr, r.stderr

def test_evaluate_with_tta_and_explain(trained, tmp_path):
    "lung_xai_evaluate rebuilds the recorded split and reports TTA separately; lung_xai_explain writes PNG + .npy per image."
    r = run('lung_xai_evaluate', '--model', trained/'run', '--tta', '--out', tmp_path/'ev')   # the data folder is recorded in the bundle
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'test set (n=' in r.stdout
    assert json.loads((tmp_path/'ev'/'report.json').read_text())['overall'] == json.loads((trained/'run'/'report.json').read_text())['overall']
    md = (tmp_path/'ev'/'report.md').read_text()
    assert 'With test-time augmentation' in md and 'not for diagnosis' in md
    fn = trained/'ph'/'benign'/'benign_1.png'
    r = run('lung_xai_explain', fn, '--model', trained/'run', '--cls', 'Benign', '--method', 'gradcam++', '--out', tmp_path/'cam')
    assert r.returncode == 0 and 'gradcam++ at layer2 for Benign' in r.stdout, r.stdout + r.stderr
    assert (tmp_path/'cam'/'benign_1.cam.png').is_file() and (tmp_path/'cam'/'benign_1.cam.npy').is_file()

@pytest.mark.parametrize('args,msg', [(['--method', 'scorecam'], 'expected one of gradcam'), (['--cls', 'Tumour'], 'expected one of Normal')])
def test_explain_bad_options(trained, tmp_path, args, msg):
    r = run('lung_xai_explain', trained/'ph'/'normal'/'normal_1.png', '--model', trained/'run', *args, '--out', tmp_path)
    assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_train_two_processes(tmp_path):
    "`lung_xai_train` unchanged under `accelerate launch`: two CPU processes (gloo), one lr_find, outputs written once by rank 0."
    import shutil
    r = run('accelerate', 'launch', '--multi_gpu', '--num_processes', 2, '--num_machines', 1, '--mixed_precision', 'no',
            '--dynamo_backend', 'no', shutil.which('lung_xai_train', path=str(Path(sys.executable).parent)),
            '--out', tmp_path/'run', '--n_phantoms', 90, '--size', 64, '--epochs', 2, '--seed', 3)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert 'data-parallel: 2 processes (gloo), batch 16 per process' in out, out[-3000:]
    assert out.count('lr_find: valley') == 1 and out.count('report: ') == 1, out[-3000:]
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert m['distributed'] == dict(processes=2, backend='gloo', device='cpu:0'), m['distributed']
    assert len(m['history']) == 2 and m['split']['n_train'] == 72
    best = re.findall(r'Better model found at epoch \d+ with f1_score value: [\d.]+', out)   # printed by each rank
    assert best and all(best.count(b) == 2 for b in best), best   # gathered metrics: both ranks took the same decisions
    for f in ['model.pkl', 'model.safetensors', 'config.json', 'report.md', 'lr_find.png']: assert (tmp_path/'run'/f).is_file(), f
    assert not list((tmp_path/'run').glob('.*.tmp')), 'a partial file was left behind'

def test_train_on_own_masks_without_phantom_table(trained, tmp_path):
    "A dataset that carries its own .mask.png files but is not a phantom set: the run finishes; lesion removal is skipped with one warning."
    shutil.copytree(trained/'ph', tmp_path/'own', ignore=shutil.ignore_patterns('phantoms.csv'))
    r = run('lung_xai_train', '--data', tmp_path/'own', '--out', tmp_path/'run', '--size', 64, '--epochs', 1, '--bs', 16, env={'PYTHONWARNINGS': 'default'})
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'lesion removal and size swap skipped' in r.stderr and 'not phantoms' in r.stderr, r.stderr
    assert (tmp_path/'run'/'report.md').is_file() and 'Lesion removal' not in (tmp_path/'run'/'report.md').read_text()
