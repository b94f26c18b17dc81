"""Superset's settings for the VoB dashboard (read through SUPERSET_CONFIG_PATH).

Everything Superset keeps lives under SUPERSET_HOME (bi/superset/home/ by
default, git-ignored): the SQLite metadata database and the secret key. The
server listens on 127.0.0.1 only (assets/dashboard.py starts it) and the page
it serves makes no request to another host: telemetry is off and the browser
is told so by a Content-Security-Policy that allows this server only.
"""

import os
import secrets
from pathlib import Path

HOME = Path(os.environ.get("SUPERSET_HOME") or Path(__file__).resolve().parent / "home")
HOME.mkdir(mode=0o700, parents=True, exist_ok=True)
DATA_DIR = str(HOME)

SECRET_KEY_FILE = Path(os.environ.get("SUPERSET_SECRET_KEY_FILE") or HOME / "secret_key")


def _secret_key(path: Path) -> str:
    """The key that signs sessions and encrypts stored connection passwords; made once, 0600."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path}: the Superset secret key is shorter than 32 characters")
    return key


SECRET_KEY = _secret_key(SECRET_KEY_FILE)
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}?check_same_thread=false"

# No telemetry, no third-party assets. Superset 6.1.0's frontend has Scarf's telemetry pixel
# (apachesuperset.gateway.scarf.sh) compiled into its top menu: SCARF_ANALYTICS is read when the
# frontend is built, not here. The Content-Security-Policy below keeps the browser from loading it,
# and the dashboard's URL (?standalone=1) does not draw that menu at all. No map tiles: no Mapbox key.
MAPBOX_API_KEY = ""
FEATURE_FLAGS = {"ALERT_REPORTS": False, "EMBEDDED_SUPERSET": False, "THUMBNAILS": False}

# The browser may load and connect to this server only (data: and blob: for images, fonts, downloads).
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'", "'strict-dynamic'"],
        "font-src": ["'self'", "data:"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
TALISMAN_DEV_CONFIG = TALISMAN_CONFIG

# Arabic first: the VoB team reads the dashboard in Arabic (its CSS turns it right to left).
BABEL_DEFAULT_LOCALE = "ar"
LANGUAGES = {
    "ar": {"flag": "sa", "name": "Arabic"},
    "en": {"flag": "us", "name": "English"},
}

# One local server, no Redis: rate limits kept in memory, no async queries.
RATELIMIT_STORAGE_URI = "memory://"
