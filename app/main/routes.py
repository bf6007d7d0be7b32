from flask import render_template

from app.main import bp


@bp.get("/")
def index():
    """The drawing pad: draw a digit, see the prediction, flag it if wrong."""
    return render_template("index.html")
