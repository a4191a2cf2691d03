//! `mimi init`: everything a new provider needs on disk — a federation TLS certificate from a
//! private CA (created on first use and shared by the providers of a local setup), the client
//! CA that certifies its users' MLS clients, the hub's MLS signature key, the franking key,
//! and a configuration file that points at them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mimi_credential::ClientCa;
use mimi_types::id::ProviderDomain;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::config::{
    AdminConfig, ClientApiConfig, ConfigFile, FederationConfig, KeysConfig, Limits, TlsConfig,
};
use crate::error::ServerError;

/// What `mimi init` needs to know.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The provider's domain.
    pub domain: ProviderDomain,
    /// Directory for the configuration, keys and database (created if missing).
    pub dir: PathBuf,
    /// Directory of the private federation CA (created if missing, reused if present).
    pub ca_dir: PathBuf,
    /// Federation listen address.
    pub federation_listen: SocketAddr,
    /// Client API listen address.
    pub client_listen: SocketAddr,
    /// Admin listen address (`/metrics`, `/healthz`), if any.
    pub admin_listen: Option<SocketAddr>,
    /// Peer address overrides.
    pub peers: Vec<(String, String)>,
    /// PostgreSQL instead of SQLite in `dir` (`database_url`).
    pub database_url: Option<String>,
    /// Now, UNIX seconds (certificate validity starts an hour earlier).
    pub now_secs: i64,
}

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const DAY: i64 = 86_400;

fn write(path: &Path, contents: &[u8], secret: bool) -> Result<(), ServerError> {
    std::fs::write(path, contents)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

fn keys_err(e: impl std::fmt::Display) -> ServerError {
    ServerError::Keys(e.to_string())
}

fn validity(params: &mut CertificateParams, now_secs: i64, days: i64) -> Result<(), ServerError> {
    params.not_before =
        time::OffsetDateTime::from_unix_timestamp(now_secs - 3600).map_err(keys_err)?;
    params.not_after =
        time::OffsetDateTime::from_unix_timestamp(now_secs + days * DAY).map_err(keys_err)?;
    Ok(())
}

/// The private federation CA: load it from `dir`, or create it there.
fn federation_ca(
    dir: &Path,
    now_secs: i64,
) -> Result<(Issuer<'static, KeyPair>, String), ServerError> {
    std::fs::create_dir_all(dir)?;
    let (cert_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
    if cert_path.exists() && key_path.exists() {
        let cert_pem = std::fs::read_to_string(&cert_path)?;
        let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?).map_err(keys_err)?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(keys_err)?;
        return Ok((issuer, cert_pem));
    }
    let key = KeyPair::generate().map_err(keys_err)?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "MIMI local federation CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, now_secs, 3650)?;
    let cert = params.self_signed(&key).map_err(keys_err)?;
    write(&cert_path, cert.pem().as_bytes(), false)?;
    write(&key_path, key.serialize_pem().as_bytes(), true)?;
    Ok((Issuer::new(params, key), cert.pem()))
}

/// Create a provider's directory and return the path of its configuration file.
pub fn init(opts: &InitOptions) -> Result<PathBuf, ServerError> {
    std::fs::create_dir_all(&opts.dir)?;
    let config_path = opts.dir.join("mimi.toml");
    if config_path.exists() {
        return Err(ServerError::Config(format!(
            "{} exists; refusing to overwrite a provider's keys",
            config_path.display()
        )));
    }
    let domain = opts.domain.as_str();

    // Federation TLS: a certificate for the domain, usable as server and client certificate
    // (mutual TLS between providers, protocol-06 §4.1).
    let (issuer, ca_pem) = federation_ca(&opts.ca_dir, opts.now_secs)?;
    let tls_key = KeyPair::generate().map_err(keys_err)?;
    let mut params = CertificateParams::new(vec![domain.to_string()]).map_err(keys_err)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, domain);
    params.distinguished_name = name;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params, opts.now_secs, 365)?;
    let tls_cert = params.signed_by(&tls_key, &issuer).map_err(keys_err)?;
    write(&opts.dir.join("tls.pem"), tls_cert.pem().as_bytes(), false)?;
    write(
        &opts.dir.join("tls.key"),
        tls_key.serialize_pem().as_bytes(),
        true,
    )?;
    write(&opts.dir.join("ca.pem"), ca_pem.as_bytes(), false)?;

    // The client CA that certifies this provider's users' MLS clients.
    let client_ca =
        ClientCa::generate(&opts.domain, opts.now_secs - 3600, 3650 * DAY).map_err(keys_err)?;
    write(
        &opts.dir.join("client-ca.pem"),
        client_ca.cert_pem().as_bytes(),
        false,
    )?;
    write(
        &opts.dir.join("client-ca.key"),
        client_ca.key_pem().as_bytes(),
        true,
    )?;

    // The hub's MLS external-sender key and the franking key.
    let crypto = openmls_rust_crypto::RustCrypto::default();
    let (private, public) = openmls_traits::crypto::OpenMlsCrypto::signature_key_gen(
        &crypto,
        mimi_room::profile::CIPHERSUITE.signature_algorithm(),
    )
    .map_err(|e| ServerError::Keys(format!("{e:?}")))?;
    let hub_hex = format!("{}\n{}\n", hex::encode(private), hex::encode(public));
    write(&opts.dir.join("hub.key"), hub_hex.as_bytes(), true)?;
    let mut franking = [0u8; 32];
    getrandom::fill(&mut franking).map_err(keys_err)?;
    write(
        &opts.dir.join("franking.key"),
        format!("{}\n", hex::encode(franking)).as_bytes(),
        true,
    )?;

    let public_url = format!("https://{domain}:{}", opts.federation_listen.port());
    let file = ConfigFile {
        domain: domain.to_string(),
        data_dir: PathBuf::from("."),
        database_url: opts.database_url.clone(),
        federation: FederationConfig {
            listen: opts.federation_listen,
            public_url,
        },
        client_api: ClientApiConfig {
            listen: opts.client_listen,
        },
        tls: TlsConfig {
            cert: "tls.pem".into(),
            key: "tls.key".into(),
            roots: vec!["ca.pem".into()],
            system_roots: false,
        },
        keys: KeysConfig {
            client_ca_cert: "client-ca.pem".into(),
            client_ca_key: "client-ca.key".into(),
            hub_key: "hub.key".into(),
            franking_key: "franking.key".into(),
        },
        admin: opts.admin_listen.map(|listen| AdminConfig { listen }),
        peers: opts.peers.iter().cloned().collect(),
        limits: Limits::default(),
        consent: Default::default(),
        proxy_download: Default::default(),
    };
    let text = toml::to_string_pretty(&file).map_err(|e| ServerError::Config(e.to_string()))?;
    write(&config_path, text.as_bytes(), false)?;
    Ok(config_path)
}
