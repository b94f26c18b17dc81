"""Superset's settings for the VoB dashboard (read through SUPERSET_CONFIG_PATH).

Everything Superset keeps lives under SUPERSET_HOME (bi/superset/home/ by
default, git-ignored): the SQLite metadata database and the secret key. The
server listens on 127.0.0.1 only (assets/dashboard.py starts it) and the page
it serves makes no request to another host: telemetry is off and the browser
is told so by a Content-Security-Policy that allows this server only.
"""

import json
import os
import re
import secrets
from functools import cache
from pathlib import Path

import superset
from flask import Response, request

# superset/config.py runs this file while it is being imported: its defaults are already set
from superset.config import THEME_DEFAULT as SUPERSET_THEME

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

# One theme (no dark variant: the dashboard and its screenshot look alike whatever the reader's
# system prefers), with ECharts options over every chart's own (Superset merges them last):
# - no animation: a chart is drawn whole as soon as it renders, so a screenshot never catches a
#   bar half grown, and a page reader sees the figures at once;
# - the bar chart's months run right to left, as in the report (vob/views/report.py channel_volume_svg);
# - the donut's labels keep the share a left-to-right run (U+2066 ... U+2069) inside Arabic.
THEME_DEFAULT = {
    **SUPERSET_THEME,
    "echartsOptionsOverrides": {"animation": False},
    "echartsOptionsOverridesByChartType": {
        "echarts_timeseries_bar": {"xAxis": {"inverse": True}},
        "pie": {"series": {"label": {"formatter": "{b}: \u2066{d}%\u2069"}}},
    },
}
THEME_DARK = None


# Superset's Arabic language pack, served to every page, the login page included. Superset serves
# it to logged-in users only (`/superset/language_pack/ar/` asks for a login), so the login page
# fell back to English with "Failed to fetch language pack". Its translations are served as
# Superset ships them, less those that would fail in the browser (a placeholder the English text
# lacks: "Translation failed for key ..." in the console, and the English shown anyway) and the
# empty ones, plus the corrections below (Superset's "Sign in" reads "ليس في", "not in").
ARABIC_CORRECTIONS = {
    "Sign in": "تسجيل الدخول",
    "Enter your login and password below:": "أدخل اسم المستخدم وكلمة المرور",
}
ARABIC_PACK_PATH = "/superset/language_pack/ar/"
PLACEHOLDER = re.compile(r"%(?:\(([^)]*)\))?[-+ #0]*\d*(?:\.\d+)?[sdif]")


def _placeholders(text: str) -> tuple[list[str], int]:
    """The named placeholders of a format string, sorted, and how many positional ones it has."""
    found = PLACEHOLDER.findall(text)
    return sorted(name for name in found if name), sum(1 for name in found if not name)


def usable_translation(msgid: str, forms: list[str]) -> bool:
    """Every form is non-empty and asks for no argument the English text is not given with
    (a plural form may show the count: one positional argument more)."""
    names, positional = _placeholders(msgid)
    allowed = positional + (1 if len(forms) > 1 else 0)
    for form in forms:
        form_names, form_positional = _placeholders(form)
        if not form or not set(form_names) <= set(names) or form_positional > allowed:
            return False
    return True


@cache
def arabic_language_pack() -> str:
    path = Path(superset.__file__).parent / "translations" / "ar" / "LC_MESSAGES" / "messages.json"
    pack = json.loads(path.read_text(encoding="utf-8"))
    messages = pack["locale_data"]["superset"]
    kept = {k: v for k, v in messages.items() if k == "" or usable_translation(k, v)}
    kept.update({msgid: [text] for msgid, text in ARABIC_CORRECTIONS.items()})
    pack["locale_data"]["superset"] = kept
    return json.dumps(pack, ensure_ascii=False)


def FLASK_APP_MUTATOR(app) -> None:  # noqa: N802 (Superset's name)
    @app.before_request
    def serve_arabic_language_pack():
        if request.path == ARABIC_PACK_PATH:
            return Response(arabic_language_pack(), mimetype="application/json")
        return None


# One local server, no Redis: rate limits kept in memory, no async queries.
RATELIMIT_STORAGE_URI = "memory://"
