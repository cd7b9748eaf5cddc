__version__ = "0.3.0"

import warnings
with warnings.catch_warnings():   # fastai 2.8 on torch 2.14 warns about torch.jit.script once, at import: quiet it here, not globally
    warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)
    import fastai.vision.all  # noqa: F401
from .core import LungXAIError
