#!/usr/bin/env python3
"""Write the configuration of three federating Synapse homeservers into DIR.

Called by setup.sh with the venv's python; not meant to be run by hand.

Layout written (idempotent; secrets, keys, certificates and databases kept):
  DIR/servers.json          what start.sh/stop.sh/fanout.py need
  DIR/tls/cert.pem key.pem  one self-signed loopback certificate, shared
  DIR/hsN/homeserver.yaml   the config (rewritten on every run)
  DIR/hsN/log.config        logging at WARNING to DIR/hsN/homeserver.log
  DIR/hsN/signing.key       generated once
  DIR/hsN/secrets.json      registration/macaroon/form secrets, generated once
  DIR/hsN/homeserver.db     SQLite database (SYNAPSE_DB=sqlite)

Environment:
  SYNAPSE_DB          sqlite (default) | postgres
  SYNAPSE_BASE_PORT   default 18480: hsN federation (TLS) on BASE+N,
                      client API (plain HTTP) on BASE+10+N
  SYNAPSE_PG_PREFIX   database name prefix, default mimibench_synapse_
  SYNAPSE_PG_HOST/PORT/USER  default 127.0.0.1 / 5432 / postgres
"""

import datetime
import ipaddress
import json
import os
import secrets
import sys

N_SERVERS = 3


def die(msg):
    print(f"gen_config: {msg}", file=sys.stderr)
    sys.exit(1)


def make_cert(tls_dir):
    cert = os.path.join(tls_dir, "cert.pem")
    key = os.path.join(tls_dir, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pk = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pk.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(pk, hashes.SHA256())
    )
    os.makedirs(tls_dir, exist_ok=True)
    with open(key, "wb") as f:
        f.write(
            pk.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.chmod(key, 0o600)
    with open(cert, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    return cert, key


def load_secrets(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    s = {
        "registration_shared_secret": secrets.token_urlsafe(32),
        "macaroon_secret_key": secrets.token_urlsafe(32),
        "form_secret": secrets.token_urlsafe(32),
    }
    with open(path, "w") as f:
        json.dump(s, f)
    os.chmod(path, 0o600)
    return s


# Rate limits: high enough that the benchmark measures throughput, not the
# limiter.  (Synapse has no "off" switch for most of them.)
BIG = {"per_second": 100000, "burst_count": 1000000}

LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
filters:
  context:
    (): synapse.logging.context.LoggingContextFilter
    request: ""
handlers:
  file:
    class: logging.handlers.RotatingFileHandler
    formatter: precise
    filename: {log_file}
    maxBytes: 20000000
    backupCount: 2
    filters: [context]
    encoding: utf8
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


def main():
    if len(sys.argv) != 2:
        die("usage: gen_config.py DIR")
    d = os.path.abspath(sys.argv[1])
    db = os.environ.get("SYNAPSE_DB", "sqlite")
    if db not in ("sqlite", "postgres"):
        die(f"SYNAPSE_DB must be sqlite or postgres, not {db!r}")
    base = int(os.environ.get("SYNAPSE_BASE_PORT", "18480"))
    pg_prefix = os.environ.get("SYNAPSE_PG_PREFIX", "mimibench_synapse_")
    pg_host = os.environ.get("SYNAPSE_PG_HOST", "127.0.0.1")
    pg_port = int(os.environ.get("SYNAPSE_PG_PORT", "5432"))
    pg_user = os.environ.get("SYNAPSE_PG_USER", "postgres")
    if not ipaddress.ip_address(pg_host).is_loopback:
        die("SYNAPSE_PG_HOST must be a loopback address")

    import synapse
    import yaml
    from synapse.config.server import DEFAULT_IP_RANGE_BLOCKLIST

    global BLOCKLIST
    BLOCKLIST = [r for r in DEFAULT_IP_RANGE_BLOCKLIST if r not in ("127.0.0.0/8", "::1/128")]

    os.makedirs(d, exist_ok=True)
    cert, key = make_cert(os.path.join(d, "tls"))
    servers = []
    for i in range(1, N_SERVERS + 1):
        name = f"hs{i}"
        hd = os.path.join(d, name)
        os.makedirs(hd, exist_ok=True)
        fed_port = base + i
        client_port = base + 10 + i
        server_name = f"127.0.0.1:{fed_port}"
        sec = load_secrets(os.path.join(hd, "secrets.json"))
        log_config = os.path.join(hd, "log.config")
        with open(log_config, "w") as f:
            f.write(LOG_CONFIG.format(log_file=os.path.join(hd, "homeserver.log")))
        if db == "sqlite":
            database = {
                "name": "sqlite3",
                "args": {"database": os.path.join(hd, "homeserver.db")},
            }
        else:
            database = {
                "name": "psycopg2",
                "allow_unsafe_locale": False,
                "args": {
                    "user": pg_user,
                    "host": pg_host,
                    "port": pg_port,
                    "dbname": pg_prefix + name,
                    "cp_min": 5,
                    "cp_max": 10,
                },
            }
        cfg = {
            "server_name": server_name,
            "public_baseurl": f"http://127.0.0.1:{client_port}/",
            "pid_file": os.path.join(hd, "homeserver.pid"),
            "listeners": [
                # Federation (and key) API over TLS: Synapse's federation
                # client always speaks https to the server name's host:port.
                {
                    "port": fed_port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": True,
                    "x_forwarded": False,
                    "resources": [
                        {"names": ["federation"], "compress": False},
                    ],
                },
                # Client-server API over plain HTTP for the load generator.
                {
                    "port": client_port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                },
            ],
            "tls_certificate_path": cert,
            "tls_private_key_path": key,
            "federation_verify_certificates": False,
            # Synapse blocks loopback by default.  ip_range_whitelist alone is
            # not enough: IP-literal server names are checked against the
            # blocklist only (BlocklistingAgentWrapper), so take loopback out
            # of the default blocklist (the private ranges stay blocked).
            "ip_range_blacklist": BLOCKLIST,
            "ip_range_whitelist": ["127.0.0.0/8", "::1/128"],
            "federation": {
                # Don't back off for 10 minutes if a peer was briefly down.
                "destination_min_retry_interval": "1s",
                "destination_retry_multiplier": 2,
                "destination_max_retry_interval": "10s",
            },
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "database": database,
            "log_config": log_config,
            "media_store_path": os.path.join(hd, "media_store"),
            "signing_key_path": os.path.join(hd, "signing.key"),
            "registration_shared_secret": sec["registration_shared_secret"],
            "macaroon_secret_key": sec["macaroon_secret_key"],
            "form_secret": sec["form_secret"],
            "enable_registration": False,
            "report_stats": False,
            "enable_metrics": False,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "rc_message": BIG,
            "rc_registration": BIG,
            "rc_login": {"address": BIG, "account": BIG, "failed_attempts": BIG},
            "rc_joins": {"local": BIG, "remote": BIG},
            "rc_joins_per_room": BIG,
            "rc_invites": {"per_room": BIG, "per_user": BIG, "per_issuer": BIG},
            "rc_room_creation": BIG,
            "rc_key_requests": BIG,
            "rc_admin_redaction": BIG,
            "rc_3pid_validation": BIG,
            "rc_delayed_event_mgmt": BIG,
            "rc_profile": BIG,
            "rc_user_directory": BIG,
            "rc_presence": {"per_user": BIG},
            "rc_federation": {
                "window_size": 1000,
                "sleep_limit": 100000,
                "sleep_delay": 1,
                "reject_limit": 1000000,
                "concurrent": 1000,
            },
        }
        with open(os.path.join(hd, "homeserver.yaml"), "w") as f:
            f.write("# Generated by bench/synapse/gen_config.py; rewritten by setup.sh.\n")
            yaml.safe_dump(cfg, f, sort_keys=False)
        servers.append(
            {
                "name": name,
                "server_name": server_name,
                "client_url": f"http://127.0.0.1:{client_port}",
                "federation_url": f"https://127.0.0.1:{fed_port}",
                "config": os.path.join(hd, "homeserver.yaml"),
                "pid_file": cfg["pid_file"],
                "log": os.path.join(hd, "homeserver.log"),
                "registration_shared_secret": sec["registration_shared_secret"],
                "database": pg_prefix + name if db == "postgres" else database["args"]["database"],
            }
        )
    info = {
        "synapse_version": synapse.__version__,
        "database": db,
        "python": sys.executable,
        "servers": servers,
    }
    with open(os.path.join(d, "servers.json"), "w") as f:
        json.dump(info, f, indent=2)
    for s in servers:
        print(f"{s['name']}: server_name {s['server_name']}  client {s['client_url']}  federation {s['federation_url']}")


if __name__ == "__main__":
    main()
