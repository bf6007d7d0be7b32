"""DigitPad's machine learning: datasets, model, training, evaluation, export.

Nothing here imports Flask. Modules that need TensorFlow import it themselves,
so `trainer.preprocessing` and `trainer.datasets` stay light for the web app.
"""
