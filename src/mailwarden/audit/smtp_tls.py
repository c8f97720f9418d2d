"""The TLS contexts of the SMTP probe, and what the local OpenSSL can test.

* :func:`probe_context` accepts any certificate and, for this probe only, lowers OpenSSL's
  security level to 0 (``@SECLEVEL=0``) and the lowest version to TLS 1.0: Debian 12's OpenSSL
  refuses TLS 1.0 and 1.1 at its default level, and the probe must be able to ask a server
  whether it still accepts them. Capped at one version, it asks exactly that.
* :func:`verify_context` is an ordinary client's: the system's CAs (plus
  ``AuditOptions.ca_file``) at the system's security level. It checks only the chain; the host
  name and the dates are read from the certificate and reported on their own
  (:mod:`mailwarden.audit.x509`), so one problem does not hide another.
* :func:`local_support` says whether this machine's OpenSSL can make a handshake at a version
  at all, found by a handshake with itself in memory; a version it cannot speak is reported
  as "not tested", never as "refused by the server".
"""

from __future__ import annotations

import functools
import ssl
import warnings

VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")  # as ssl.SSLObject.version() names them
LEGACY = ("TLSv1", "TLSv1.1")
LABELS = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}
_CODES = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
PROBE_CIPHERS = "ALL:!aNULL:!eNULL:@SECLEVEL=0"  # every cipher with a certificate
ANONYMOUS = "aNULL:@SECLEVEL=0"
NO_CHECK_TIME = 0x200000  # X509_V_FLAG_NO_CHECK_TIME: the dates are checked on their own

# OpenSSL verification codes the report names (X509_V_ERR_*)
SELF_SIGNED = {18}  # DEPTH_ZERO_SELF_SIGNED_CERT
UNKNOWN_ROOT = {19}  # SELF_SIGNED_CERT_IN_CHAIN
MISSING_ISSUER = {2, 20, 21}  # UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), UNABLE_TO_VERIFY_LEAF_SIGNATURE


def label(version: str) -> str:
    return LABELS.get(version, version or "?")


def _set_versions(context: ssl.SSLContext, lowest: str, highest: str | None) -> None:
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python: on purpose here
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion(_CODES[lowest])
        context.maximum_version = (ssl.TLSVersion(_CODES[highest]) if highest
                                   else ssl.TLSVersion.MAXIMUM_SUPPORTED)


def probe_context(version: str | None = None) -> ssl.SSLContext:
    """A client context that takes any certificate; ``version`` caps it at exactly one
    version, None allows TLS 1.0 up to the highest."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(PROBE_CIPHERS)
    _set_versions(context, version or "TLSv1", version)
    return context


def verify_context(ca_file: str = "") -> ssl.SSLContext:
    """A client context that verifies the chain against the system's CAs and ``ca_file``
    (raises OSError or ssl.SSLError when ``ca_file`` cannot be read)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.check_hostname = False
    context.verify_flags |= ssl.VerifyFlags(NO_CHECK_TIME)
    return context


@functools.cache
def local_support(version: str) -> str:
    """"" when the local OpenSSL can make a handshake at ``version`` in the probe's context,
    else why not."""
    if version not in _CODES:
        return f"unknown version {version}"
    if version == "TLSv1.3":  # no anonymous ciphers in 1.3: a ClientHello is the test
        return "" if ssl.HAS_TLSv1_3 and _hello(probe_context(version)) else \
            "this OpenSSL does not offer TLS 1.3"
    client = probe_context(version)
    client.set_ciphers(ANONYMOUS)  # no certificate at hand: anonymous ciphers, same protocol
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.set_ciphers(ANONYMOUS)
    _set_versions(server, version, version)
    try:
        return "" if _handshake_in_memory(client, server) else \
            f"this OpenSSL cannot complete a {label(version)} handshake"
    except ssl.SSLError as exc:
        return f"this OpenSSL cannot use {label(version)}: {exc.reason or exc}"


def _hello(context: ssl.SSLContext) -> bool:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="probe.invalid")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.pending > 0
    except ssl.SSLError:
        return False
    return True


def _handshake_in_memory(client: ssl.SSLContext, server: ssl.SSLContext) -> bool:
    """A handshake of two contexts of this process, through memory buffers."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    ends = [client.wrap_bio(c_in, c_out), server.wrap_bio(s_in, s_out, server_side=True)]
    done = [False, False]
    for _ in range(8):
        for index, tls in enumerate(ends):
            if not done[index]:
                try:
                    tls.do_handshake()
                    done[index] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done):
            return True
    return False
