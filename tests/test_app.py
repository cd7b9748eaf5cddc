"The Gradio app as users meet it: `lung_xai_app` in its own process on 127.0.0.1, called through gradio_client, raw HTTP and a real browser."
import os, urllib.error, urllib.request
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from conftest import run

gradio_client = pytest.importorskip('gradio_client')
from gradio_client import Client, handle_file
from pydicom.data import get_testdata_file

VOCAB = ['Normal', 'Benign', 'Malignant']
ARTIFACTS = Path(__file__).parent/'artifacts'   # screenshots (git-ignored)

@pytest.fixture(scope='module')
def app(trained):
    "`lung_xai_app` serving the session's tiny model on a free local port; yields (url, client)."
    from lung_xai.stress import serving
    with open(trained/'app.log', 'w') as log, serving(trained/'run', out=log) as (url, client, _):
        yield url, client

def _probs(label:dict)->dict: return {c['label']: c['confidence'] for c in label['confidences']}

def _answer(trained, fn)->str:
    "What the library answers for `fn` (a prediction set, or no answer when out of distribution): what the page must show first."
    from lung_xai.serve import load_bundle, predict
    return predict(load_bundle(trained/'run'), [fn]).answer[0]

def test_binds_to_localhost_only(app):
    "The listening socket of the app's port is bound to 127.0.0.1, not to every interface (read from the kernel's table)."
    url, _ = app
    port = int(url.rstrip('/').rsplit(':', 1)[1])
    tables = [Path(f) for f in ('/proc/net/tcp', '/proc/net/tcp6') if Path(f).is_file()]
    if not tables: pytest.skip('no /proc/net/tcp on this system to read listening sockets from')
    listening = [line.split()[1] for t in tables for line in t.read_text().splitlines()[1:] if line.split()[3] == '0A']   # 0A: LISTEN
    addrs = [a.rsplit(':', 1)[0] for a in listening if int(a.rsplit(':', 1)[1], 16) == port]
    assert addrs and all(a == '0100007F' for a in addrs), addrs   # 127.0.0.1, little-endian hex; 00000000 would be 0.0.0.0

@pytest.mark.parametrize('kind', ['png', 'dicom'])
def test_predict_png_and_dicom(app, trained, kind):
    _, client = app
    fn = trained/'ph'/'malignant'/'malignant_1.png' if kind == 'png' else Path(get_testdata_file('CT_small.dcm'))
    label, overlay, words = client.predict(handle_file(str(fn)), api_name='/predict')
    p = _probs(label)
    assert sorted(p) == sorted(VOCAB) and label['label'] in VOCAB
    assert abs(sum(p.values()) - 1) < 1e-5
    size = Image.open(fn).size if kind == 'png' else (128, 128)
    assert Image.open(overlay).size == size
    assert 'synthetic phantoms' in words              # every answer says the model never saw a patient
    if kind == 'dicom':   # real CT vs a phantom model: out of distribution, and the headline says so before anything else
        assert words.startswith('### CT_small.dcm: No reliable answer') and 'unlike the training data' in words, words
    else: assert words.split('\n')[0] == f'### malignant_1.png: {_answer(trained, fn)}', words   # the library's answer (the set, or no answer) is the headline

def test_explain_another_class(app, trained):
    _, client = app
    fn = trained/'ph'/'normal'/'normal_1.png'
    _, _, words = client.predict(handle_file(str(fn)), explain_class='Malignant', cam_method='gradcam', api_name='/predict')
    assert 'gradcam at layer2 for **Malignant**' in words, words   # the model's recorded default layer

def test_batch_sorted_by_malignant(app, trained):
    _, client = app
    fs = [trained/'ph'/c/f'{c}_{i}.png' for c in ('normal', 'benign', 'malignant') for i in (1, 2)]
    table = client.predict([handle_file(str(f)) for f in fs], api_name='/predict_batch')
    rows = table['data']; cols = table['headers']
    pm = [r[cols.index('p_Malignant')] for r in rows]
    assert len(rows) == 6 and pm == sorted(pm, reverse=True)
    assert all('prediction set' in r[cols.index('answer')] or 'No reliable answer' in r[cols.index('answer')] for r in rows), rows

def _bad_files(tmp:Path)->dict:
    "name -> (path, expected): 'ok' for a prediction, else a piece of the one error message."
    tmp.mkdir(exist_ok=True)
    (tmp/'corrupt.jpg').write_bytes(b'\xff\xd8\xff\xe0\x00\x10JFIF' + b'\x00' * 40)
    (tmp/'notes.txt').write_text('this is not an image')   # refused by the upload's file_types before our code
    a16 = (np.linspace(0, 65535, 96 * 96).reshape(96, 96)).astype(np.uint16)
    Image.fromarray(a16).save(tmp/'sixteen.png')
    assert Image.open(tmp/'sixteen.png').mode.startswith('I')
    rgba = np.zeros((80, 90, 4), np.uint8); rgba[..., :3] = 120; rgba[..., 3] = 255; rgba[:20, :, 3] = 0
    Image.fromarray(rgba, 'RGBA').save(tmp/'rgba.png')
    return {'corrupt jpeg': (tmp/'corrupt.jpg', 'corrupt.jpg: '), 'text file': (tmp/'notes.txt', 'Invalid file type'),
            '16-bit png': (tmp/'sixteen.png', 'ok'), 'rgba png': (tmp/'rgba.png', 'ok')}

def test_bad_uploads_then_still_answers(app, trained, tmp_path):
    url, client = app
    for name, (fn, expect) in _bad_files(tmp_path).items():
        if expect == 'ok':
            label, overlay, _ = client.predict(handle_file(str(fn)), api_name='/predict')
            assert label['label'] in VOCAB and Image.open(overlay).size == Image.open(fn).size, name
        else:
            with pytest.raises(Exception) as e: client.predict(handle_file(str(fn)), api_name='/predict')
            msg = str(e.value)
            assert expect in msg, (name, msg)
            assert 'Traceback' not in msg and str(tmp_path) not in msg and '/tmp' not in msg and 'gradio' not in msg.lower(), (name, msg)
    # oversize: gradio_client refuses it itself; a raw upload gets HTTP 413 from the server
    big = tmp_path/'big.png'; big.write_bytes(b'\x89PNG' + os.urandom(26 * 1024 * 1024))
    with pytest.raises(ValueError, match='maximum file size'): client.predict(handle_file(str(big)), api_name='/predict')
    body, ctype = _multipart('files', 'big.png', big.read_bytes())
    req = urllib.request.Request(url + 'gradio_api/upload', data=body, headers={'Content-Type': ctype}, method='POST')
    with pytest.raises(urllib.error.HTTPError) as e: urllib.request.urlopen(req, timeout=60)
    assert e.value.code == 413
    label, _, _ = client.predict(handle_file(str(trained/'ph'/'benign'/'benign_1.png')), api_name='/predict')
    assert label['label'] in VOCAB

def _multipart(field, name, data):
    b = '----lungxai' + os.urandom(8).hex()
    body = (f'--{b}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data + f'\r\n--{b}--\r\n'.encode())
    return body, f'multipart/form-data; boundary={b}'

@pytest.mark.parametrize('path', ['/etc/passwd', '{run}/config.json', '{run}/model.safetensors'])
def test_no_extra_files_served(app, trained, path):
    url, _ = app
    p = path.format(run=trained/'run')
    try: code = urllib.request.urlopen(url + 'gradio_api/file=' + p, timeout=10).status
    except urllib.error.HTTPError as e: code = e.code
    assert code in (403, 404), (p, code)

def test_in_a_real_browser(app, trained):
    chromium = '/usr/lib/chromium/chromium'
    if not Path(chromium).is_file(): pytest.skip(f'{chromium} not found: install Debian\'s chromium (apt-get install -y chromium) to run the browser test')
    pytest.importorskip('playwright', reason='playwright not installed (pip install -e ".[dev]")')
    from lung_xai.app import browser_check
    url, _ = app
    ARTIFACTS.mkdir(exist_ok=True)
    res = browser_check(url, trained/'ph'/'malignant'/'malignant_1.png', ARTIFACTS/'app.png', chromium=chromium)
    assert res['label'] in VOCAB, res
    assert res['answer'] == f"malignant_1.png: {_answer(trained, trained/'ph'/'malignant'/'malignant_1.png')}", res   # the library's answer is the headline
    dcm = browser_check(url, get_testdata_file('CT_small.dcm'), chromium=chromium)   # a real chest CT: unlike the phantoms
    assert dcm['answer'] == 'CT_small.dcm: No reliable answer: this image is unlike the training data (out of distribution)', dcm
    assert res['overlay'] and ('/gradio_api/file=' in res['overlay'] or res['overlay'].startswith('data:image')), res
    assert (ARTIFACTS/'app.png').stat().st_size > 10_000
