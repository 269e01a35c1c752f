"""Helpers of the access-control tests: API key files, JWTs and JWKS made with
python3-jwt and python3-cryptography, and a test CA with server and client certificates.

Everything is generated per test (keys, certificates): nothing secret lives in the
repository.
"""

import datetime
import hashlib
import ipaddress
import json
import secrets
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROLES = ("admin", "producer", "worker", "reader", "metrics")


def new_key():
    return "rk_" + secrets.token_urlsafe(32)


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def write_api_keys(path, entries):
    """entries: [(role, glob, key, name or None)]; writes the --api-keys file."""
    lines = ["# written by the test"]
    for role, glob, key, name in entries:
        lines.append(f"{role} {glob} {sha256_hex(key)}" + (f" {name}" if name else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------------
# JWT
# ------------------------------------------------------------------------------------

def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def p256_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk_of(private_key, kid, alg=None):
    """The public JWK of a key, as an IdP publishes it."""
    pub = private_key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        d = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(pub))
        d.setdefault("alg", alg or "RS256")
    else:
        d = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(pub))
        if alg:
            d["alg"] = alg
    d["kid"] = kid
    d["use"] = "sig"
    return d


def write_jwks(path, keys):
    """keys: [(private_key, kid)]"""
    path.write_text(json.dumps({"keys": [jwk_of(k, kid) for k, kid in keys]}))
    return path


def public_pem(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(sub="user-1", iss="https://issuer.test", aud="redge-test", ttl=300, **extra):
    now = int(time.time())
    c = {"sub": sub, "iss": iss, "aud": aud, "iat": now - 5, "exp": now + ttl}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def firebase_claims(project, uid, ttl=300):
    """What a Firebase ID token carries (https://firebase.google.com/docs/auth/admin/verify-id-tokens)."""
    now = int(time.time())
    return {"iss": f"https://securetoken.google.com/{project}", "aud": project,
            "auth_time": now - 60, "user_id": uid, "sub": uid, "iat": now - 5,
            "exp": now + ttl, "email": f"{uid}@example.com", "email_verified": True,
            "firebase": {"identities": {"email": [f"{uid}@example.com"]},
                         "sign_in_provider": "password"}}


def sign(payload, key, alg, kid=None):
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload, header=None):
    """An `alg: none` token (what a forger sends)."""
    h = {"alg": "none", "typ": "JWT"}
    h.update(header or {})
    return (b64url(json.dumps(h).encode()) + "." + b64url(json.dumps(payload).encode()) + ".")


def hs256_with(secret_bytes, payload, header):
    """HS256 over header.payload with an arbitrary secret (the HS/RS confusion attack signs
    with the RSA public key's PEM); PyJWT refuses PEM secrets, so it is done by hand."""
    import hmac
    h = {"alg": "HS256", "typ": "JWT"}
    h.update(header)
    signing = b64url(json.dumps(h).encode()) + "." + b64url(json.dumps(payload).encode())
    mac = hmac.new(secret_bytes, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(mac)


# ------------------------------------------------------------------------------------
# A test CA with a server certificate for 127.0.0.1/localhost and client certificates
# ------------------------------------------------------------------------------------

class TestCa:
    def __init__(self, workdir, name="redge test CA"):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = p256_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                                  crl_sign=True, content_commitment=False,
                                                  key_encipherment=False, data_encipherment=False,
                                                  key_agreement=False, encipher_only=False,
                                                  decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca_path = self.dir / (name.replace(" ", "-") + ".pem")
        self.ca_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cn, *, server=True, days=1):
        """Writes <cn>.crt and <cn>.key; returns (cert_path, key_path)."""
        key = p256_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(self.cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        cert_path = self.dir / f"{cn}.crt"
        key_path = self.dir / f"{cn}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path
