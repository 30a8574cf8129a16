"""One redaction layer for everything the suite writes: journal, Allure, summary, terminal.

``Redactor.text`` masks secrets in free text and ``Redactor.value`` walks dicts, lists and
tuples (values under secret-looking keys are masked whatever they are). Every mask is the
fixed marker ``[REDACTED]``. What is masked (DESIGN.md section 5):

- every known secret (``Redactor(known_secrets)`` / ``.add``) in plain form, base64
  (standard and urlsafe, with and without padding, also inside a longer base64 run such as
  ``Basic base64(user:secret)``) and URL-encoded (``%XX`` either case, ``+`` for spaces);
- AWS access key ids (``AKIA...``, ``ASIA...``), 40-character secret access keys and session
  tokens next to their key names, ``X-Amz-Signature``, ``X-Amz-Credential`` and
  ``X-Amz-Security-Token`` values;
- URLs whose query carries a signature or token (presigned S3/STS URLs, ``sig=``,
  ``signature=``, ``token=``): the whole query is masked, scheme, host and path stay;
- webhook URLs (Slack, Discord, Microsoft Teams): the path is masked;
- every known secret also as it reads inside a JSON string (``\\"``, ``\\uXXXX`` escapes);
- webhook URLs whose host is ``hooks.*``/``webhook(s).*`` or whose path has a ``hooks``,
  ``webhook``, ``webhooks`` or ``webhookb2`` segment: what follows is masked;
- passwords in URLs (``postgresql://user:p@ss:wörd@host/db``: everything between the user's
  ``:`` and the last ``@`` before the host, so ``@``, ``:`` and non-ASCII letters included),
  EKS bearer tokens (``k8s-aws-v1.<...>``), ``Authorization: ...`` values,
  ``Bearer``/``Basic`` credentials, ``password=...``/``"token": "..."``-style pairs (also with
  JSON-escaped quotes) and YAML ``token: ...``, ``client-key-data: ...``, ``hmac_key: ...``
  lines (the name ends in a secret word);
- PEM private keys, whole blocks and truncated ones (a BEGIN line without its END: the rest of
  the base64 body goes), and base64-encoded PEM private keys (kubeconfig ``client-key-data``);
- URL-encoded text (``%7B%22password%22%3A...``): a run with ``%XX`` escapes is decoded,
  redacted and encoded again when the decoded text holds a secret.

Not supported: secrets split across two strings, secrets in other encodings (hex, gzip,
double URL-encoding), URL passwords holding ``/``, ``?`` or ``#`` unencoded, non-string dict
keys that hide secrets, and objects other than dict/list/tuple/str (they are returned
unchanged: convert them to JSON types first; ``evidence.redacted_json`` does). Known secrets
shorter than ``MIN_SECRET_LENGTH`` are masked only as whole words and never in their encoded
forms (masking every occurrence of a 3-letter string would mangle the evidence).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

MARK = "[REDACTED]"
MIN_SECRET_LENGTH = 6
_MIN_B64_CORE = 8
_B64_CHARS = r"A-Za-z0-9+/_\-"
_B64_RUN = re.compile(rf"[{_B64_CHARS}]+=*")

# Key segments (after splitting snake, kebab and camel case) whose values are always masked.
SECRET_KEY_WORDS = frozenset({
    "password", "passwd", "pwd", "passphrase", "secret", "token", "authorization", "webhook",
    "signature", "credential", "credentials", "cookie", "privatekey", "apikey",
})
# Joined (separator-free, lower case) spellings that are secret although no segment is.
SECRET_KEY_JOINED = ("apikey", "privatekey", "sessiontoken", "secretaccesskey", "webhookurl",
                     "hmackey", "clientkeydata")

_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s\"'<>`]+)")
_SECRET_QUERY_PARAM = re.compile(
    r"(?i)(?:^|[?&;])(?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|"
    r"token|access_token|id_token|refresh_token|api_key|apikey|key|code|password|secret|"
    r"awsaccesskeyid|x-goog-signature|x-goog-credential|se?ssion_?token)=")
_WEBHOOK_HOST = re.compile(
    r"(?i)^(https?://(?:hooks\.slack\.com|(?:[\w-]+\.)?discord(?:app)?\.com/api/webhooks|"
    r"[\w.-]*webhook\.office\.com|outlook\.office\.com/webhook|[\w.-]+\.logic\.azure\.com|"
    r"(?:hooks?|webhooks?)\.[^/?#\s]+|"  # generic hook hosts: hooks.example.com/...
    r"[^/?#\s]+/(?:[^?#\s]*/)?(?:hooks|webhooks?|webhookb2)(?=/[^/?#\s])))"  # .../hooks/<secret>
    r"(/.*)?$")
# user ":" password "@" host: the password runs to the LAST "@" before the host, so it may
# hold "@", ":" and any letter (not "/", "?", "#", quotes or spaces).
_URL_PASSWORD = re.compile(
    r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@\"'<>]*:)([^\s/?#\"'<>]+)(@)")

_NAME = (r"[\w\-]*?(?:password|passwd|pwd|passphrase|secret|api_?key|token|webhook(?:_?url)?|"
         r"private_?key|hmac_?key|access_?key|client-?key-?data|key_?data)")
# YAML-style "name: value" (no quotes): narrower, prose says "the webhook: HTTP 200".
_YAML_NAME = (r"[\w\-]*?(?:password|passwd|passphrase|token|api_?key|private_?key|hmac_?key|"
              r"secret_?access_?key|client[_-]?secret|client-?key-?data|key_?data|webhook_?url)")
_Q = r"\\?[\"']"  # a quote, JSON-escaped or not
# PEM private keys: the whole block, or a BEGIN line whose END never came (truncated: the
# base64 body, PEM headers and line breaks, also escaped ones, are masked).
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|"
                  r"(?:[ \t\r\nA-Za-z0-9+/=:,\-]|\\[nrt])*)", re.S)
_PEM_KINDS = ("", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ")
# The same keys base64-encoded (kubeconfig client-key-data): the aligned prefix of each header.
_PEM_B64 = re.compile("(?:" + "|".join(
    re.escape(base64.b64encode(h).decode()[:4 * (len(h) // 3)])
    for h in (f"-----BEGIN {kind}PRIVATE KEY-----".encode() for kind in _PEM_KINDS))
    + r")[A-Za-z0-9+/=]*")
_URL_ENCODED_RUN = re.compile(r"[A-Za-z0-9._~+\-*!=&%]+")  # one class: linear time

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys: whole, truncated, base64-encoded.
    (_PEM, MARK),
    (_PEM_B64, MARK),
    # EKS bearer tokens: k8s-aws-v1.<base64url of a presigned STS URL>.
    (re.compile(r"k8s-aws-v1\.[A-Za-z0-9_\-=.%]+"), MARK),
    # Authorization headers (quoted value up to its quote, unquoted up to the end of line).
    (re.compile(r"(?i)(\b(?:proxy-)?authori[sz]ation[\"']?\s*[:=]\s*)([\"'])(?:(?!\2).)*\2"),
     rf"\1\2{MARK}\2"),
    (re.compile(r"(?i)(\b(?:proxy-)?authori[sz]ation\s*[:=]\s*)(?![\"'\s])[^\r\n]+"),
     rf"\1{MARK}"),
    (re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/\-]{12,}=*"), rf"\1\2{MARK}"),
    # AWS access key ids.
    (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"), MARK),
    # Secret access keys and session tokens next to their names (any quoting, = or :).
    (re.compile(r"(?i)((?:aws_?)?secret_?access_?key[\"']?\s*[:=]\s*[\"']?)"
                r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"), rf"\1{MARK}"),
    (re.compile(r"(?i)((?:aws_?)?(?:session|security)[_-]?token[\"']?\s*[:=]\s*[\"']?)"
                r"[A-Za-z0-9/+=%]{16,}"), rf"\1{MARK}"),
    # Presigned-URL parameters anywhere (also outside URLs, e.g. in headers or logs).
    (re.compile(r"(?i)\b(x-amz-(?:signature|credential|security-token)=)[^&\s\"'<>]+"),
     rf"\1{MARK}"),
    # Generic pairs whose name ends in a secret word: "db_password": "x", TOKEN=x, pwd: x,
    # {\"token\": \"x\"} (JSON inside a JSON string), YAML "token: x", "client-key-data: x".
    (re.compile(rf"(?i)((?<![A-Za-z0-9]){_Q}?{_NAME}{_Q}?\s*[:=]\s*)({_Q})(?:(?!\2).)+\2"),
     rf"\1\2{MARK}\2"),
    (re.compile(rf"(?i)((?<![A-Za-z0-9]){_NAME}\s*=\s*)(?![\"'\s\[\\])[^\s&;,\"']+"),
     rf"\1{MARK}"),
    (re.compile(rf"(?i)((?<![A-Za-z0-9/:]){_YAML_NAME}:[ \t]+)(?![\"'\s\[{{|>\\]|\[REDACTED\])"
                r"[^\s,;\"']+"), rf"\1{MARK}"),
)


def _split_key(key: str) -> list[str]:
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", key)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", spaced)
    return [part.lower() for part in re.split(r"[\s_\-.:/]+", spaced) if part]


def is_secret_key(key: object) -> bool:
    """True for dict keys whose values are masked whatever they are (``db_password``...)."""
    if not isinstance(key, str):
        return False
    parts = _split_key(key)
    joined = "".join(parts)
    return any(part in SECRET_KEY_WORDS for part in parts) or any(
        word in joined for word in SECRET_KEY_JOINED)


def _b64_forms(secret: bytes) -> set[str]:
    """Full encodings (four variants) and alignment-independent cores for longer runs."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(secret).decode("ascii")
        forms.update({full, full.rstrip("=")})
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii").rstrip("=")
        bits = 8 * (offset + len(secret))
        core = encoded[-(-8 * offset // 6):bits // 6] if offset else encoded[:bits // 6]
        if len(core) >= _MIN_B64_CORE:
            forms.add(core)
            forms.add(core.replace("+", "-").replace("/", "_"))
    return forms


def _url_forms(secret: str) -> set[str]:
    forms = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    lower = {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in forms}
    return (forms | lower) - {secret}


def _json_forms(secret: str) -> set[str]:
    """The secret as it reads inside a JSON string (escaped quotes, backslashes, non-ASCII)."""
    forms = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= {re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), f)
              for f in forms}
    return forms - {secret}


class Redactor:
    """Masks known secrets and secret-looking patterns; safe to share between threads."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._plain: re.Pattern[str] | None = None
        self._b64: re.Pattern[str] | None = None
        for secret in known_secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Mask ``secret`` (and its encodings) from now on; empty strings are ignored."""
        if not isinstance(secret, str):
            raise TypeError(f"Redactor.add: a secret must be a str, got {type(secret).__name__}")
        if not secret or secret in self._secrets:
            return
        with self._lock:
            self._secrets.add(secret)
            self._compile()

    def _compile(self) -> None:
        plain: set[str] = set()
        b64: set[str] = set()
        words: set[str] = set()
        for secret in self._secrets:
            if len(secret) < MIN_SECRET_LENGTH:
                words.add(secret)
                continue
            plain.add(secret)
            plain.update(_url_forms(secret))
            plain.update(_json_forms(secret))
            b64.update(_b64_forms(secret.encode("utf-8")))
        alternatives = [re.escape(s) for s in sorted(plain, key=len, reverse=True)]
        alternatives += [rf"(?<![A-Za-z0-9]){re.escape(w)}(?![A-Za-z0-9])"
                         for w in sorted(words, key=len, reverse=True)]
        self._plain = re.compile("|".join(alternatives)) if alternatives else None
        cores = "|".join(re.escape(s) for s in sorted(b64, key=len, reverse=True))
        # Searched inside each base64 run (the run is masked whole): linear in the text, where
        # a pattern with the run around the cores took quadratic time on long runs.
        self._b64 = re.compile(cores) if cores else None

    def text(self, s: str) -> str:
        """``s`` with every known secret and secret-looking pattern replaced by the marker."""
        if "%" in s:
            s = _URL_ENCODED_RUN.sub(self._url_encoded_run, s)
        return self._text(s)

    def _url_encoded_run(self, match: re.Match[str]) -> str:
        """A URL-encoded run, decoded and redacted, encoded again only if a secret was in it."""
        run = match.group(0)
        if "%" not in run:
            return run
        decoded = unquote_plus(run)
        if decoded == run:
            return run
        redacted = self._text(decoded)
        if redacted == decoded:
            return run
        return MARK.join(quote(part, safe="=&") for part in redacted.split(MARK))

    def _text(self, s: str) -> str:
        plain, b64 = self._plain, self._b64
        if plain is not None:
            s = plain.sub(MARK, s)
        if b64 is not None:
            s = _B64_RUN.sub(lambda m: MARK if b64.search(m.group(0)) else m.group(0), s)
        s = _URL_PASSWORD.sub(rf"\1{MARK}\3", s)
        s = _URL.sub(_redact_url, s)
        for pattern, replacement in _PATTERNS:
            s = pattern.sub(replacement, s)
        return s

    def value(self, obj: Any) -> Any:
        """A copy of ``obj`` with strings redacted and values under secret keys masked."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {(self.text(k) if isinstance(k, str) else k):
                    (MARK if is_secret_key(k) and v is not None else self.value(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self.value(item) for item in obj)
        return obj


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(1)
    webhook = _WEBHOOK_HOST.match(url)
    if webhook:
        return f"{webhook.group(1)}/{MARK}"
    base, sep, query = url.partition("?")
    if sep and _SECRET_QUERY_PARAM.search("?" + query):
        return f"{base}?{MARK}"
    return url


_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """The process-wide redactor for code that was not given one (patterns only, plus any
    secret someone ``add``-ed to it)."""
    return _DEFAULT
