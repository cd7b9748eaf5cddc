"""`StandInHub` is NOT the Hugging Face Hub: a small HTTP server on 127.0.0.1 that answers the few endpoints
`huggingface_hub` calls to create a repository, upload a folder and download a snapshot, and records every request,
so tests (`test_hub.py`) and the Space tutorial (`nbs/23_tut_space.ipynb`) can show what would have been sent.
Nothing here talks to the internet."""
import base64, hashlib, json, re, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAKE_TOKEN = 'hf_FAKEfakeFAKEfake0123456789abcdef'
SHA = 'a' * 40

class StandInHub(ThreadingHTTPServer):
    "A recording stand-in for the Hub's HTTP API (create repo, validate YAML, preupload, commit, snapshot download)."
    daemon_threads = True
    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.requests, self.repos, self.files, self.private = [], [], {}, {}   # files: (type, repo) -> {path: bytes}; private: (type, repo) -> bool
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
            req = json.loads(body)
            kind = req.get('type', 'model'); name = f"{req.get('organization') or 'alice'}/{req['name']}"
            url = f"{self.server.url}/{'spaces/' if kind == 'space' else ''}{name}"
            if (kind + 's', name) in self.server.private:   # as the Hub: an existing repository is left as it is
                return self._send(409, {'error': f'You already created this {kind} repo', 'url': url})
            self.server.repos.append(req); self.server.private[(kind + 's', name)] = req.get('visibility') == 'private'
            return self._send(200, {'url': url, 'name': name})
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
        if (m := re.fullmatch(r'/api/(models|spaces)/([^/]+/[^/]+)', p)) and (m[1], m[2]) in self.server.private:
            return self._send(200, {'id': m[2], 'private': self.server.private[(m[1], m[2])], 'sha': SHA})
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
