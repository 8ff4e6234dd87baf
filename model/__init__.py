"""sectag's model layer: labels -> pipeline -> registry -> Tagger. Never imports Flask."""

from .errors import SectagError
from .registry import Registry
from .tagger import Prediction, Tagger

__all__ = ["Prediction", "Registry", "SectagError", "Tagger"]
