"""One redaction layer: known secrets in every encoding, and secret-looking patterns."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

import pytest

from maip_drlib.evidence.redact import MARK, Redactor, default_redactor, is_secret_key

pytestmark = pytest.mark.unit

# Dummy values only (AWS's documented example keys and made-up strings).
DB_PASSWORD = "Db-p@ss/w0rd+x y?~Zq"
WEBHOOK_SECRET = "T0123/B0456/abcdefghijklmnopqrstuvwx"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SESSION_KEY_ID = "ASIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def forms(secret: str) -> dict[str, str]:
    raw = secret.encode()
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return {
        "plain": secret,
        "base64": std,
        "base64 unpadded": std.rstrip("="),
        "base64url": url,
        "base64url unpadded": url.rstrip("="),
        "url-encoded": quote(secret, safe=""),
        "url-encoded lower hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(),
                                        quote(secret, safe="")),
        "url-encoded keep slash": quote(secret),
        "form-encoded": quote_plus(secret),
        # Basic auth: the secret inside a longer base64 run, at each of the 3 alignments.
        "basic auth base64 align 0": base64.b64encode(f"abc:{secret}".encode()).decode(),
        "basic auth base64 align 1": base64.b64encode(f"ab:{secret}".encode()).decode(),
        "basic auth base64 align 2": base64.b64encode(f"a:{secret}".encode()).decode(),
        "basic auth base64url": base64.urlsafe_b64encode(f"user:{secret}".encode()).decode(),
    }


def _leaks(text: str, secret: str) -> list[str]:
    return [name for name, form in forms(secret).items() if form in text]


@pytest.mark.parametrize("form", sorted(forms(DB_PASSWORD)))
def test_known_secret_masked_in_every_form(form: str) -> None:
    redactor = Redactor([DB_PASSWORD])
    encoded = forms(DB_PASSWORD)[form]
    text = f"connecting with {encoded} now"
    out = redactor.text(text)
    assert MARK in out, (form, out)
    assert not _leaks(out, DB_PASSWORD), (form, out)
    assert out.startswith("connecting with ") and out.endswith(" now")


def test_known_secret_inside_nested_values_and_dict_keys_untouched() -> None:
    redactor = Redactor()
    redactor.add(DB_PASSWORD)
    value = {"stage": "failover 2",
             "detail": {"dsn": f"host=db user=maip password={DB_PASSWORD}",
                        "items": [DB_PASSWORD, ("x", forms(DB_PASSWORD)["base64"])],
                        "count": 3, "ok": True, "none": None}}
    out = redactor.value(value)
    assert out["stage"] == "failover 2"
    assert out["detail"]["count"] == 3 and out["detail"]["ok"] is True
    assert out["detail"]["none"] is None
    assert out["detail"]["items"] == [MARK, ("x", MARK)]
    assert isinstance(out["detail"]["items"][1], tuple)
    assert DB_PASSWORD not in repr(out)
    assert value["detail"]["items"][0] == DB_PASSWORD  # the input is not modified


@pytest.mark.parametrize("key", [
    "password", "db_password", "DBPassword", "secret", "client-secret", "token",
    "SessionToken", "session_token", "Authorization", "api_key", "apiKey", "x-api-key",
    "webhook", "slack_webhook_url", "signature", "credential", "Credentials",
    "SecretAccessKey", "private_key",
])
def test_values_under_secret_keys_masked_whatever_they_are(key: str) -> None:
    assert is_secret_key(key)
    out = Redactor().value({key: {"nested": 1}, "other": [{key: 42}, {key: "plain"}]})
    assert out[key] == MARK
    assert out["other"] == [{key: MARK}, {key: MARK}]


@pytest.mark.parametrize("key", ["stage", "secrets_replicated", "tokens_lost", "key",
                                 "AccessKeyId_count", "signed"])
def test_ordinary_keys_kept(key: str) -> None:
    assert not is_secret_key(key)
    assert Redactor().value({key: "visible"}) == {key: "visible"}


PATTERNS = {
    "access key id": (f"using key {ACCESS_KEY_ID} in us-east-1", [ACCESS_KEY_ID]),
    "session key id": (f"AccessKeyId={SESSION_KEY_ID}", [SESSION_KEY_ID]),
    "secret access key ini": (f"aws_secret_access_key = {SECRET_ACCESS_KEY}\n",
                              [SECRET_ACCESS_KEY]),
    "secret access key json": (f'{{"SecretAccessKey": "{SECRET_ACCESS_KEY}"}}',
                               [SECRET_ACCESS_KEY]),
    "secret access key env": (f"AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}",
                              [SECRET_ACCESS_KEY]),
    "session token": ("aws_session_token=FwoGZXIvYXdzEJr//////////wEaDOfakesessiontoken0123",
                      ["FwoGZXIvYXdzEJr"]),
    "presigned s3 url": (
        "fetch https://maip-evidence.s3.amazonaws.com/obj.json?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEfakeToken&X-Amz-Signature=0123456789abcdef"
        "0123456789abcdef0123456789abcdef0123456789abcdef done",
        ["AKIAIOSFODNN7EXAMPLE", "IQoJb3JpZ2luX2VjEfakeToken", "0123456789abcdef"]),
    "amz params outside a url": (
        "X-Amz-Signature=deadbeefcafe X-Amz-Credential=AKIAxx/2024 "
        "X-Amz-Security-Token=FQoDYXdzEfake",
        ["deadbeefcafe", "AKIAxx", "FQoDYXdzEfake"]),
    "eks token": ("kubectl --token k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20v"
                  "P0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eQ get nodes",
                  ["aHR0cHM6Ly9zdHM", "GV0Q2FsbGVy"]),
    "authorization header": ("Authorization: AWS4-HMAC-SHA256 Credential=x/y, "
                             "SignedHeaders=host, Signature=feedface\nnext line",
                             ["AWS4-HMAC-SHA256", "feedface"]),
    "authorization in a dict repr": ("{'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig'}",
                                     ["eyJhbGciOiJIUzI1NiJ9"]),
    "bearer": ("curl -H 'x: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig' url",
               ["eyJhbGciOiJIUzI1NiJ9"]),
    "slack webhook": (f"notify https://hooks.slack.com/services/{WEBHOOK_SECRET} ok",
                      [WEBHOOK_SECRET, "T0123"]),
    "url with sig": ("https://acct.blob.core.windows.net/c/b?sv=2022&sp=r&sig=Zm9vYmFy%3D",
                     ["Zm9vYmFy"]),
    "url with signature": ("https://cdn.example.com/f?Expires=1&Signature=abcDEF123&Key-Pair-Id=K",
                           ["abcDEF123"]),
    "url with token": ("https://api.example.com/x?page=2&token=tok_live_1234567",
                       ["tok_live_1234567"]),
    "password in a dsn": ("postgresql://maip:Sup3rS3cret@db.internal:5432/maip",
                          ["Sup3rS3cret"]),
    "password pair": ("PGPASSWORD=Sup3rS3cret psql", ["Sup3rS3cret"]),
    "password json": ('{"master_password": "Sup3rS3cret"}', ["Sup3rS3cret"]),
    "private key": ("-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----",
                    ["MIIEfake"]),
}


@pytest.mark.parametrize("case", sorted(PATTERNS))
def test_patterns_masked_without_known_secrets(case: str) -> None:
    text, leaked = PATTERNS[case]
    out = Redactor().text(text)
    assert MARK in out, (case, out)
    for fragment in leaked:
        assert fragment not in out, (case, fragment, out)


def test_presigned_url_keeps_host_and_path() -> None:
    text = PATTERNS["presigned s3 url"][0]
    out = Redactor().text(text)
    assert out == f"fetch https://maip-evidence.s3.amazonaws.com/obj.json?{MARK} done"


@pytest.mark.parametrize("text", [
    "EKS bearer tokens expire after 15 minutes; basic checks passed",
    "arn:aws:sts::123456789012:assumed-role/maip-dr/alice",
    "https://api.maip.example.com/actuator/health?page=2",
    "replication latency 4.2s under 5s on maip-prod-merchant-analytics",
    "secrets replicated to us-west-2: maip/db-credentials-name",
    "stage failover 2 passed in 1.52s",
])
def test_ordinary_text_unchanged(text: str) -> None:
    assert Redactor([DB_PASSWORD]).text(text) == text


def test_short_known_secret_masked_only_as_a_word() -> None:
    redactor = Redactor(["abc1"])
    assert redactor.text("pw abc1 here; abc12 and xabc1 stay") == (
        f"pw {MARK} here; abc12 and xabc1 stay")


def test_default_redactor_is_shared_and_masks_patterns() -> None:
    assert default_redactor() is default_redactor()
    assert ACCESS_KEY_ID not in default_redactor().text(f"key {ACCESS_KEY_ID}")


def test_add_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        Redactor().add(b"bytes")  # type: ignore[arg-type]


# Issue 15: the patterns the redactor missed, and what it must keep.
PEM_BODY = "MIIEowIBAAKCAQEAdummyKeyMaterialForTheRedactionTest0123456789abcd"
PEM_KEY = (f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nAAAAdummy==\n"
           "-----END RSA PRIVATE KEY-----\n")
DSN_PASSWORD = "p@ss:wörd-Ünï"

MISSED = {
    "yaml token": ("users:\n- name: maip\n  user:\n    token: dummyKubeToken0123456789\n",
                   ["dummyKubeToken0123456789"]),
    "yaml client-key-data": (
        "    client-certificate-data: Y2VydA==\n    client-key-data: "
        + base64.b64encode(PEM_KEY.encode()).decode() + "\n",
        [base64.b64encode(PEM_KEY.encode()).decode()[:40]]),
    "base64 pem key anywhere": (f"data {base64.b64encode(PEM_KEY.encode()).decode()} end",
                                [base64.b64encode(PEM_KEY.encode()).decode()[:30]]),
    "dsn password with @ : and non-ascii": (
        f"postgresql://maip:{DSN_PASSWORD}@db.internal:5432/maip?sslmode=require",
        ["p@ss", "wörd", "Ünï", "ss:w"]),
    "dsn password url-encoded": (
        f"postgresql://maip:{quote(DSN_PASSWORD, safe='')}@db.internal/maip", ["p%40ss"]),
    "url-encoded json": ("body=" + quote('{"password": "Sup3rS3cret", "user": "maip"}', safe=""),
                         ["Sup3rS3cret"]),
    "form-encoded json": ("q=" + quote_plus('{"token":"tok_live_abcdef123"}'),
                          ["tok_live_abcdef123"]),
    "truncated pem": (f"key: -----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nAAAAdummy",
                      [PEM_BODY[:20], "AAAAdummy"]),
    "truncated pem in a json string": (
        '{"k": "-----BEGIN PRIVATE KEY-----\\n' + PEM_BODY + '\\nAAAA"}', [PEM_BODY[:20]]),
    "json inside a json string": (json.dumps(json.dumps({"token": "abcdefgh12345"})),
                                  ["abcdefgh12345"]),
    "hmac key pair": ("hmac_key: dummy-hmac-key-0123 and MAIP_DR_HMAC_KEY=dummy-hmac-key-0123",
                      ["dummy-hmac-key-0123"]),
    "aws session token yaml": ("aws_session_token: FwoGZXIvYXdzEJrdummysessiontoken0123",
                               ["FwoGZXIvYXdzEJr"]),
    "aws secret access key json escaped": (
        json.dumps(json.dumps({"SecretAccessKey": SECRET_ACCESS_KEY})), [SECRET_ACCESS_KEY]),
    "generic hook host": ("POST https://hooks.example.test/services/T0/B0/dummyWebhook01 ok",
                          ["dummyWebhook01", "T0/B0"]),
    "teams webhook": ("https://contoso.webhook.office.com/webhookb2/a-b@c/IncomingWebhook/d/e",
                      ["IncomingWebhook/d/e"]),
    "hooks path segment": ("https://chat.example.com/hooks/xoxdummysecret01", ["xoxdummysecret01"]),
    "webhook token query": ("https://example.com/notify?channel=dr&token=dummyWebhookTok1",
                            ["dummyWebhookTok1"]),
    "eks token in yaml": ("    token: k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u",
                          ["aHR0cHM6Ly9zdHM"]),
}


@pytest.mark.parametrize("case", sorted(MISSED))
def test_missed_patterns_now_masked(case: str) -> None:
    text, leaked = MISSED[case]
    out = Redactor().text(text)
    assert MARK in out, (case, out)
    for fragment in leaked:
        assert fragment not in out, (case, fragment, out)


def test_dsn_keeps_user_host_and_database() -> None:
    out = Redactor().text(f"postgresql://maip:{DSN_PASSWORD}@db.internal:5432/maip")
    assert out == f"postgresql://maip:{MARK}@db.internal:5432/maip"


def test_url_encoded_json_stays_url_encoded_around_the_mark() -> None:
    out = Redactor().text("x=" + quote('{"password": "Sup3rS3cret"}', safe="") + " y")
    assert out == f"x=%7B%22password%22%3A%20%22{MARK}%22%7D y"


@pytest.mark.parametrize("secret", [DSN_PASSWORD, 'quo"te\\back-slash', "tab\tand\nnewline1"])
def test_known_secret_masked_as_json_spells_it(secret: str) -> None:
    redactor = Redactor([secret])
    for ensure_ascii in (True, False):
        text = json.dumps({"detail": f"connect with {secret} now"}, ensure_ascii=ensure_ascii)
        out = redactor.text(text)
        assert MARK in out, (ensure_ascii, out)
        assert json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1] not in out


CHAIN_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize("text", [
    "arn:aws:iam::123456789012:role/maip-dr-operator",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:maip/db-credentials-AbCdEf",
    "arn:aws:rds:us-west-2:123456789012:db:maip-prod-postgres-replica",
    "drill gameday-20261206T083840Z attempt-1 (shared-gameday)",
    f'{{"prev": "{CHAIN_HASH}", "hash": "{CHAIN_HASH}"}}',
    f"final digest sha256:{CHAIN_HASH}",
    f"manifest.json sha256={CHAIN_HASH}",
    "notification (completion) delivered to the webhook: HTTP 200",
    "The webhook URL is a secret: it is read from the environment only",
    "https://127.0.0.1:6443/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    "https://127.0.0.1:6443/api/v1/namespaces/maip-services/services/ledger",
    "postgresql://maip@db.internal:5432/maip (no password in the DSN)",
    "s3://maip-evidence/reports/gameday-20261206T083840Z/attempt-1/manifest.json",
    "token_count: 3, tokens_lost: 0, 50% of canaries, 100% done",
    "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
    "redirect to https://api.maip.example.com/actuator/health?x=1%2C2",
])
def test_ordinary_evidence_kept(text: str) -> None:
    assert Redactor(["dummy-known-secret-1"]).text(text) == text
