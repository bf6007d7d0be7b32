"""Entry point for gunicorn (`wsgi:app`) and `flask` (FLASK_APP=wsgi)."""

from app import create_app

app = create_app()
