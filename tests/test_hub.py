"""The Hub side: a built Space that runs from its own folder, and publishing checked against a local stand-in of the Hub
(`hub_standin.StandInHub`, a recording HTTP server on 127.0.0.1; nothing here talks to the internet)."""
import json, os, shutil, socket, subprocess, sys, time
from pathlib import Path
import pytest, yaml
from conftest import run
from hub_standin import StandInHub, FAKE_TOKEN

@pytest.fixture
def hub():
    s = StandInHub(); yield s; s.shutdown(); s.server_close()

def _hub_env(hub, tmp_path, **kw):
    return dict(HF_ENDPOINT=hub.url, HF_TOKEN=FAKE_TOKEN, HF_HOME=str(tmp_path/'hf_home'), HF_HUB_DISABLE_TELEMETRY='1', **kw)

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_space_runs_on_its_own(trained, tmp_path):
    "Build the Space, move it somewhere new, and run `python app.py` there: it answers, with the copied package."
    from lung_xai.hub import build_space
    built = build_space(trained/'run', tmp_path/'built')
    space = tmp_path/'elsewhere'/'space'; shutil.copytree(built, space); shutil.rmtree(built)
    repo_root = str(Path(__file__).resolve().parents[1])
    for f in space.rglob('*'):
        if f.is_file() and f.suffix in ('.py', '.md', '.txt', '.json'):
            text = f.read_text()
            assert repo_root not in text and str(trained) not in text, f'{f} refers to {repo_root} or {trained}'
    env = dict(os.environ, PYTHONWARNINGS='ignore', MPLBACKEND='Agg')
    env.pop('PYTHONPATH', None)
    r = subprocess.run([sys.executable, '-c', 'import app, lung_xai; print(lung_xai.__file__)'], cwd=space, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == str(space/'lung_xai'/'__init__.py'), r.stdout + r.stderr
    port = _free_port()
    log = open(tmp_path/'space.log', 'w')
    proc = subprocess.Popen([sys.executable, 'app.py'], cwd=space, env={**env, 'GRADIO_SERVER_PORT': str(port)}, stdout=log, stderr=subprocess.STDOUT)
    try:
        from gradio_client import Client, handle_file
        t0 = time.time()
        while True:
            assert proc.poll() is None, (tmp_path/'space.log').read_text()
            assert time.time() - t0 < 240, 'the Space did not start within 240 s'
            try: client = Client(f'http://127.0.0.1:{port}/', verbose=False); break
            except Exception: time.sleep(0.3)
        label, overlay, words = client.predict(handle_file(str(space/'examples'/'phantom_malignant.png')), api_name='/predict')
        assert label['label'] in ('Normal', 'Benign', 'Malignant') and 'synthetic phantoms' in words
    finally: proc.terminate(); proc.wait(30); log.close()

def test_card_front_matter_and_numbers(trained, tmp_path):
    from lung_xai.hub import build_space
    space = build_space(trained/'run', tmp_path/'space')
    readme = (space/'README.md').read_text()
    _, fm, card = readme.split('---', 2)
    meta = yaml.safe_load(fm)
    assert {'title', 'emoji', 'colorFrom', 'colorTo', 'sdk', 'sdk_version', 'app_file', 'python_version', 'license',
            'short_description', 'pinned', 'tags'} <= set(meta)
    import gradio
    assert (meta['sdk'], meta['sdk_version'], meta['app_file'], meta['license']) == ('gradio', gradio.__version__, 'app.py', 'mit')
    rep = json.loads((trained/'run'/'report.json').read_text())
    from lung_xai.evaluate import split_sentence
    f = lambda v: f'{v:.3f}'   # the report's own format (`report_markdown` renders report.md and the card alike)
    for r in rep['overall']:
        assert f"| {r['metric']} | {f(r['value'])} ({f(r['low'])}–{f(r['high'])}) |" in card, r
    for r in rep['per_class']:
        assert f"| {r['cls']} | {r['support']} | {f(r['recall'])} ({f(r['recall_ci'][0])}–{f(r['recall_ci'][1])})" in card, r
    for r in rep['valid']['overall']:
        assert f"| {r['metric']} | {f(r['value'])} ({f(r['low'])}–{f(r['high'])}) |" in card, r
    assert split_sentence(rep['split']) in card and '### Confusion matrix' in card
    report_md = (trained/'run'/'report.md').read_text()
    assert all(l in report_md for l in card.splitlines() if l.startswith(('| accuracy', '| Benign |', '| macro_f1')))   # one renderer
    assert 'not for diagnosis' in card and 'Out-of-scope use' in card and 'Limitations' in card

def test_publish_against_stand_in(trained, tmp_path, hub):
    "lung_xai_publish creates a gradio Space and commits exactly the allow-listed files; the token never shows."
    from lung_xai.hub import space_files, MODEL_FILES
    space = tmp_path/'space'
    r = run('lung_xai_publish', '--model', trained/'run', '--repo', 'alice/lung-demo', '--space_dir', space,
            '--model_repo', 'alice/lung-model', env=_hub_env(hub, tmp_path, HF_HUB_VERBOSITY='debug'))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert FAKE_TOKEN not in out and FAKE_TOKEN[3:] not in out
    creates = hub.repos
    assert (creates[0]['name'], creates[0]['type'], creates[0]['sdk']) == ('lung-demo', 'space', 'gradio'), creates
    assert creates[1].get('type', 'model') == 'model' and creates[1]['name'] == 'lung-model', creates
    assert set(hub.files[('spaces', 'alice/lung-demo')]) == set(space_files(space))
    assert set(hub.files[('models', 'alice/lung-model')]) == set(MODEL_FILES)
    assert all(q['auth'] == f'Bearer {FAKE_TOKEN}' for q in hub.requests if q['method'] == 'POST')   # the token was used...
    for f in space.rglob('*'):                                                                         # ...and written nowhere
        if f.is_file(): assert FAKE_TOKEN.encode() not in f.read_bytes(), f
    assert (space/'model'/'model.safetensors').read_bytes() == hub.files[('spaces', 'alice/lung-demo')]['model/model.safetensors']

def test_allow_list_keeps_secrets_home(trained, tmp_path, hub):
    from lung_xai.hub import build_space, publish_space
    space = build_space(trained/'run', tmp_path/'space')
    (space/'.env').write_text(f'HF_TOKEN={FAKE_TOKEN}'); (space/'model'/'model.pkl').write_bytes(b'pickle')
    (space/'.cache').mkdir(); (space/'.cache'/'x.bin').write_bytes(b'cache'); (space/'data').mkdir(); (space/'data'/'a.png').write_bytes(b'x')
    url, files = publish_space('alice/lung-demo', space, token=FAKE_TOKEN, endpoint=hub.url)
    sent = set(hub.files[('spaces', 'alice/lung-demo')])
    assert sent == set(files) and not {'.env', 'model/model.pkl', '.cache/x.bin', 'data/a.png'} & sent
    assert url == f'{hub.url}/spaces/alice/lung-demo'

def test_load_from_hub_never_unpickles(trained, tmp_path, hub, monkeypatch):
    from lung_xai.hub import push_model, load_from_hub
    push_model('alice/lung-model', trained/'run', token=FAKE_TOKEN, endpoint=hub.url)
    import pickle
    monkeypatch.setattr(pickle, 'load', lambda *a, **k: pytest.fail('unpickled something'))
    learn = load_from_hub('alice/lung-model', endpoint=hub.url, cache_dir=tmp_path/'cache')
    fn = trained/'ph'/'benign'/'benign_1.png'
    from lung_xai.serve import load_bundle
    assert (learn.predict(fn)[2] - load_bundle(trained/'run').predict(fn)[2]).abs().max() < 1e-5
    from lung_xai.core import extras
    assert extras(learn).ood is not None

@pytest.mark.parametrize('case', ['dry-run', 'unreachable', 'no-token'])
def test_publish_user_errors(trained, tmp_path, case):
    env = dict(HF_HOME=str(tmp_path/'hf_home'), HF_ENDPOINT='http://127.0.0.1:9', HF_TOKEN=FAKE_TOKEN)
    if case == 'no-token': env['HF_TOKEN'] = ''
    args = ['lung_xai_publish', '--model', trained/'run', '--repo', 'alice/lung-demo', '--space_dir', tmp_path/'space']
    t0 = time.time()
    r = run(*args, *(['--dry_run'] if case == 'dry-run' else []), env=env)
    out = r.stdout + r.stderr
    assert FAKE_TOKEN not in out and 'Traceback' not in out
    if case == 'dry-run': assert r.returncode == 0 and 'would upload' in r.stdout and 'model/model.safetensors' in r.stdout, out
    elif case == 'unreachable': assert r.returncode == 2 and 'cannot be reached' in r.stderr and time.time() - t0 < 60, out
    else: assert r.returncode == 2 and 'no Hugging Face token' in r.stderr, out

def test_private_never_lands_in_a_public_repo(trained, tmp_path, hub):
    "--private creates private repositories; on an existing public one it refuses before uploading anything."
    from lung_xai.hub import build_space, publish_space
    from lung_xai.data import LungXAIError
    space = build_space(trained/'run', tmp_path/'space')
    publish_space('alice/private-demo', space, token=FAKE_TOKEN, endpoint=hub.url, private=True)
    assert hub.private[('spaces', 'alice/private-demo')] and hub.repos[-1]['visibility'] == 'private'
    publish_space('alice/public-demo', space, token=FAKE_TOKEN, endpoint=hub.url)
    assert hub.private[('spaces', 'alice/public-demo')] is False
    del hub.files[('spaces', 'alice/public-demo')]
    with pytest.raises(LungXAIError, match='already exists and is public'):
        publish_space('alice/public-demo', space, token=FAKE_TOKEN, endpoint=hub.url, private=True)
    assert ('spaces', 'alice/public-demo') not in hub.files   # nothing was committed
