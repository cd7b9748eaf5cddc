"""The Hub side: a built Space that runs from its own folder, and publishing checked against a local stand-in of the Hub.

`StandInHub` is NOT the Hugging Face Hub: it is a small HTTP server on 127.0.0.1 that answers the few endpoints
`huggingface_hub` calls to create a repository, upload a folder and download a snapshot, and records every request,
so the tests can check what would have been sent. Nothing here talks to the internet."""
import base64, hashlib, json, os, re, shutil, socket, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import pytest, yaml
from conftest import run

FAKE_TOKEN = 'hf_FAKEfakeFAKEfake0123456789abcdef'
SHA = 'a' * 40

class StandInHub(ThreadingHTTPServer):
    "A recording stand-in for the Hub's HTTP API (create repo, validate YAML, preupload, commit, snapshot download)."
    daemon_threads = True
    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.requests, self.repos, self.files = [], [], {}   # files: (type, repo) -> {path: bytes}
        self.url = f'http://127.0.0.1:{self.server_address[1]}'
        threading.Thread(target=self.serve_forever, daemon=True).start()

class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _body(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n: return self.rfile.read(n)
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            out = b''
            while (size := int(self.rfile.readline().strip(), 16)):
                out += self.rfile.read(size); self.rfile.readline()
            self.rfile.readline(); return out
        return b''
    def _send(self, code, obj=None, data=None, headers=None):
        data = json.dumps(obj).encode() if obj is not None else (data or b'')
        self.send_response(code)
        self.send_header('Content-Type', 'application/json' if obj is not None else 'application/octet-stream')
        self.send_header('Content-Length', str(len(data)))
        for k, v in (headers or {}).items(): self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD': self.wfile.write(data)
    def _record(self, body=b''):
        self.server.requests.append(dict(method=self.command, path=self.path, auth=self.headers.get('Authorization'), body=body))
    def do_POST(self):
        body = self._body(); self._record(body); p = self.path.split('?')[0]
        if p == '/api/repos/create':
            req = json.loads(body); self.server.repos.append(req)
            kind = req.get('type', 'model'); name = f"{req.get('organization') or 'alice'}/{req['name']}"
            return self._send(200, {'url': f"{self.server.url}/{'spaces/' if kind == 'space' else ''}{name}", 'name': name})
        if p == '/api/validate-yaml': return self._send(200, {'errors': [], 'warnings': []})
        if m := re.fullmatch(r'/api/(models|spaces)/([^/]+/[^/]+)/preupload/(.+)', p):
            return self._send(200, {'files': [dict(path=f['path'], uploadMode='regular', shouldIgnore=False) for f in json.loads(body)['files']],
                                    'commitOid': SHA})
        if m := re.fullmatch(r'/api/(models|spaces)/([^/]+/[^/]+)/commit/(.+)', p):
            store = self.server.files.setdefault((m[1], m[2]), {})
            for line in body.decode().splitlines():
                op = json.loads(line)
                if op['key'] == 'file': store[op['value']['path']] = base64.b64decode(op['value']['content'])
                elif op['key'] != 'header': return self._send(400, {'error': f"unexpected operation {op['key']}"})
            return self._send(200, {'commitOid': SHA, 'commitUrl': f"{self.server.url}/{'spaces/' if m[1] == 'spaces' else ''}{m[2]}/commit/{SHA}"})
        self._send(404, {'error': f'stand-in: no route {p}'})
    def do_GET(self):
        self._record(); p = self.path.split('?')[0]
        if m := re.fullmatch(r'/api/models/([^/]+/[^/]+)/revision/(.+)', p):
            store = self.server.files.get(('models', m[1]))
            if store is None: return self._send(404, {'error': 'Repository not found'}, headers={'X-Error-Code': 'RepoNotFound'})
            return self._send(200, {'id': m[1], 'sha': SHA, 'siblings': [{'rfilename': f} for f in sorted(store)]})
        if m := re.fullmatch(r'/api/models/([^/]+/[^/]+)/tree/([^/]+)', p):
            store = self.server.files.get(('models', m[1]), {})
            return self._send(200, [dict(type='file', path=f, size=len(d), oid=hashlib.sha1(d).hexdigest()) for f, d in sorted(store.items())])
        if m := re.fullmatch(r'/([^/]+/[^/]+)/resolve/([^/]+)/(.+)', p):
            data = self.server.files.get(('models', m[1]), {}).get(m[3])
            if data is None: return self._send(404, {'error': 'Entry not found'}, headers={'X-Error-Code': 'EntryNotFound'})
            return self._send(200, data=data, headers={'ETag': f'"{hashlib.sha256(data).hexdigest()}"', 'X-Repo-Commit': SHA})
        self._send(404, {'error': f'stand-in: no route {p}'})
    do_HEAD = do_GET

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
    metrics = json.loads((trained/'run'/'metrics.json').read_text())
    f = lambda v: '–' if v != v else f'{v:.3f}'
    for r in rep['overall']:
        assert f"| {r['metric']} | {f(r['value'])} | {f(r['low'])}–{f(r['high'])} |" in card, r
    for r in rep['per_class']:
        assert f"| {r['cls']} | {r['support']} | {f(r['precision'])} ({f(r['precision_ci'][0])}–{f(r['precision_ci'][1])})" in card, r
    assert f"macro-F1 {f(metrics['valid']['macro_f1'])}, accuracy {f(metrics['valid']['accuracy'])}" in card
    assert f"On the **test split**: {rep['split']['n']} images" in card
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
    from lung_xai.train import load_bundle
    assert (learn.predict(fn)[2] - load_bundle(trained/'run').predict(fn)[2]).abs().max() < 1e-5
    assert learn.ood is not None

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
