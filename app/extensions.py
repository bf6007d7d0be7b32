"""The bare extension objects, bound to the app in create_app."""

from typing import TYPE_CHECKING

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations can alter them later (SQLite batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# The base of every table class: `db.Model` at run time (it binds each model to
# the app's session), typed as the declarative base it derives from.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(render_as_batch=True)

# Every form and state-changing request under the dashboard carries a token;
# the public JSON API is exempt (it changes nothing a visitor does not own).
csrf = CSRFProtect()

# Per-client request limits (RATELIMIT_* settings): memory storage by default,
# a shared store such as Redis when RATELIMIT_STORAGE_URI names one. The client
# is the remote address, which ProxyFix takes from X-Forwarded-For only when
# TRUSTED_PROXIES says how many proxies stand in front.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)

# Compressed replies and cached static files: configured in app/assets.py.
compress = Compress()
