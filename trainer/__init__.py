"""DigitPad's machine learning: datasets, model, training, evaluation, export.

Nothing here imports Flask. Modules that need TensorFlow import it themselves,
so `trainer.preprocessing` and `trainer.datasets` stay light for the web app.
"""

import os

# TensorFlow's start-up chatter (CPU features, missing CUDA) hides the progress lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
