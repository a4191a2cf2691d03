//! `mimi discovery` (a distribution point and a mapping authority) and `mimi lookup` (a
//! private, verified lookup): docs/discovery.md §10.1 and §13.
//!
//! ```text
//!  authority challenge ──code──▶ DIR/one-time-codes.txt
//!  authority issue ──▶ sign ──▶ POST evaluate (blinded SII) ──▶ seal ──▶ POST upload
//!  lookup ──▶ GET key ──▶ POST evaluate (proof checked) ──▶ POST lookup ──▶ open ──▶ check_lookup
//! ```

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use ed25519_dalek::VerifyingKey;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mimi_discovery::{
    Authority, AuthorityConfig, ChallengeId, FileCodeSender, KeyId, LookupOutcome, LookupRejection,
    MappingAuthority, Permissions, RECOMMENDED_VALIDITY_SECS, RevocationSet, Signer, Sii, SsiEntry,
    TrustSet, check_lookup,
};
use mimi_dp::{DpFiles, DpOptions, DpState};
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{
    DpPublicKey, Evaluation, LookupRequest, LookupResponse, LookupSecret, UploadEntry,
    UploadRequest, UploadResponse,
};
use mimi_types::id::{ConnectionId, ProviderDomain, UserUri};

use crate::error::CliError;

/// `mimi discovery`.
#[derive(Debug, Subcommand)]
pub enum DiscoveryCommand {
    /// Run a distribution point (HTTP) until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// A mapping authority: prove control of an SII by one-time code, issue, publish.
    #[command(subcommand)]
    Authority(AuthorityCommand),
}

/// `mimi discovery serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Data directory: OPRF key, publisher token, store (created if missing).
    #[arg(long)]
    dir: PathBuf,
}

/// `mimi discovery authority ...`.
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Create an authority: signing key, configuration and empty state in DIR.
    Init {
        /// The authority's directory (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// The authority id (a domain), e.g. `b.example`.
        #[arg(long)]
        id: String,
        /// The provider domain whose SSIs it may assert [default: the id].
        #[arg(long)]
        provider_domain: Option<String>,
    },
    /// Send a one-time code for an SII (written to DIR/one-time-codes.txt).
    Challenge {
        /// The authority's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The phone number or email address, as written.
        #[arg(long)]
        sii: String,
        /// An SSI the recipient wants the SII mapped to (repeat for several, most preferred
        /// first).
        #[arg(long = "ssi", required = true)]
        ssis: Vec<String>,
    },
    /// Complete the proof with the code, issue the assertion and publish it at a DP.
    Issue {
        /// The authority's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The phone number or email address, as written.
        #[arg(long)]
        sii: String,
        /// The one-time code the recipient received.
        #[arg(long)]
        code: String,
        /// The distribution point, `http://host:port`.
        #[arg(long)]
        dp: String,
        /// The DP's publisher token file (`publisher-token` in its data directory).
        #[arg(long)]
        dp_token: PathBuf,
    },
    /// Print the trust entry verifiers need for this authority (save it as a trust file).
    Trust {
        /// The authority's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Write it to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `mimi lookup`.
#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The phone number or email address to look up, as written.
    sii: String,
    /// The distribution point, `http://host:port`.
    #[arg(long)]
    dp: String,
    /// The trust file: the authorities whose assertions count.
    #[arg(long)]
    trust: PathBuf,
}

const KEY_FILE: &str = "authority.key";
const CONF_FILE: &str = "authority.conf";
const STATE_FILE: &str = "authority.state";
const CHALLENGES_FILE: &str = "challenges";
const TRUST_HEADER: &str =
    "# mimi discovery trust file: authority ID kid=HEX key=HEX provider=DOMAIN";

pub(crate) fn err(e: impl std::fmt::Display) -> CliError {
    CliError::Discovery(e.to_string())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::Discovery(format!("{}: {e}", path.display()))
}

pub(crate) fn now_secs() -> u64 {
    mimi_server::provider::now_ms() / 1000
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

/// Write `bytes` to `path` atomically (temp file, fsync, rename), mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Run `mimi discovery ...`.
pub fn run(cmd: DiscoveryCommand) -> Result<(), CliError> {
    match cmd {
        DiscoveryCommand::Serve(args) => serve(args),
        DiscoveryCommand::Authority(cmd) => authority(cmd),
    }
}

fn serve(args: ServeArgs) -> Result<(), CliError> {
    crate::logging::init();
    let files = DpFiles::open(&args.dir).map_err(err)?;
    let state = Arc::new(DpState::open(files, &DpOptions::default()).map_err(err)?);
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| err(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().map_err(err)?;
        println!("distribution point listening on http://{addr}");
        println!(
            "publisher token: {}",
            args.dir.join(mimi_dp::TOKEN_FILE).display()
        );
        mimi_dp::serve(listener, state, crate::server_cmd::shutdown_signal())
            .await
            .map_err(err)?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// The authority of DIR, with its FileCodeSender.
fn load_authority(dir: &Path) -> Result<MappingAuthority<FileCodeSender>, CliError> {
    let key_path = dir.join(KEY_FILE);
    let secret = fs::read_to_string(&key_path).map_err(io_err(&key_path))?;
    let secret: [u8; 32] = hex::decode(secret.trim())?
        .try_into()
        .map_err(|_| err(format!("{}: expected 32 bytes of hex", key_path.display())))?;
    let conf_path = dir.join(CONF_FILE);
    let conf = fs::read_to_string(&conf_path).map_err(io_err(&conf_path))?;
    let field = |name: &str| {
        conf.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .map(str::trim)
            .ok_or_else(|| err(format!("{}: no `{name}` line", conf_path.display())))
    };
    let id = ProviderDomain::parse(field("id")?)?;
    let provider = ProviderDomain::parse(field("provider-domain")?)?;
    let signer = Signer::from_secret(id, &secret);
    let state_path = dir.join(STATE_FILE);
    let state = fs::read(&state_path).map_err(io_err(&state_path))?;
    MappingAuthority::import(
        signer,
        Permissions::provider(provider),
        AuthorityConfig::default(),
        FileCodeSender::new(dir),
        &state,
    )
    .map_err(err)
}

fn save_authority(dir: &Path, a: &MappingAuthority<FileCodeSender>) -> Result<(), CliError> {
    write_private(&dir.join(STATE_FILE), &a.export_state())
}

fn authority(cmd: AuthorityCommand) -> Result<(), CliError> {
    match cmd {
        AuthorityCommand::Init {
            dir,
            id,
            provider_domain,
        } => {
            let id = ProviderDomain::parse(&id)?;
            let provider = match provider_domain {
                Some(d) => ProviderDomain::parse(&d)?,
                None => id.clone(),
            };
            if dir.join(KEY_FILE).exists() {
                return Err(CliError::Usage(format!(
                    "{} already holds an authority",
                    dir.display()
                )));
            }
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(CliError::Random)?;
            let signer = Signer::from_secret(id.clone(), &secret);
            let authority = MappingAuthority::new(
                signer,
                Permissions::provider(provider.clone()),
                AuthorityConfig::default(),
                FileCodeSender::new(&dir),
            )
            .map_err(err)?;
            write_private(
                &dir.join(KEY_FILE),
                format!("{}\n", hex::encode(secret)).as_bytes(),
            )?;
            write_private(
                &dir.join(CONF_FILE),
                format!("id {id}\nprovider-domain {provider}\n").as_bytes(),
            )?;
            save_authority(&dir, &authority)?;
            println!(
                "authority {id} (maps SIIs to SSIs on {provider}) in {}",
                dir.display()
            );
            Ok(())
        }
        AuthorityCommand::Challenge { dir, sii, ssis } => {
            let mut authority = load_authority(&dir)?;
            let sii = Sii::parse(&sii).map_err(err)?;
            let ssis = ssis
                .iter()
                .map(|s| UserUri::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            let id = authority
                .start_proof(&sii, &ssis, now_secs(), &mut OsRng)
                .map_err(err)?;
            save_authority(&dir, &authority)?;
            // The challenge id, for `issue`; the file is as confidential as the state.
            let path = dir.join(CHALLENGES_FILE);
            let mut lines = fs::read_to_string(&path).unwrap_or_default();
            lines.push_str(&format!(
                "{} {}\n",
                sii.as_str(),
                hex::encode(id.as_bytes())
            ));
            write_private(&path, lines.as_bytes())?;
            println!(
                "code sent for {} (written to {})",
                sii.as_str(),
                authority.sender().path().display()
            );
            Ok(())
        }
        AuthorityCommand::Issue {
            dir,
            sii,
            code,
            dp,
            dp_token,
        } => issue(&dir, &sii, &code, &dp, &dp_token),
        AuthorityCommand::Trust { dir, out } => {
            let authority = load_authority(&dir)?;
            let provider = authority
                .permissions()
                .recipient_provider_for
                .iter()
                .next()
                .cloned()
                .ok_or_else(|| err("the authority has no provider domain"))?;
            let text = format!(
                "{TRUST_HEADER}\nauthority {} kid={} key={} provider={provider}\n",
                authority.id(),
                hex::encode(authority.kid().as_bytes()),
                hex::encode(authority.verifying_key().as_bytes()),
            );
            match out {
                Some(path) => {
                    fs::write(&path, text).map_err(io_err(&path))?;
                    println!("wrote {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}

fn issue(dir: &Path, sii: &str, code: &str, dp: &str, token: &Path) -> Result<(), CliError> {
    let mut authority = load_authority(dir)?;
    let sii = Sii::parse(sii).map_err(err)?;
    let path = dir.join(CHALLENGES_FILE);
    let challenges = fs::read_to_string(&path).map_err(io_err(&path))?;
    let challenge = challenges
        .lines()
        .rev()
        .filter_map(|l| l.split_once(' '))
        .find(|(s, _)| *s == sii.as_str())
        .map(|(_, id)| ChallengeId::from_hex(id.trim()))
        .ok_or_else(|| err("no challenge for this SII: run `authority challenge` first"))?
        .map_err(err)?;
    let now = now_secs();
    let proof = authority.complete_proof(&challenge, code.trim(), now);
    // A wrong code counts: save the attempt either way.
    save_authority(dir, &authority)?;
    let proof = proof.map_err(err)?;
    let entries = proof
        .requested_ssis()
        .iter()
        .enumerate()
        .map(|(i, s)| SsiEntry::new(s.clone(), u8::try_from(i).unwrap_or(u8::MAX)))
        .collect();
    let assertion = authority
        .issue(&proof, &sii, entries, RECOMMENDED_VALIDITY_SECS, now)
        .map_err(err)?;
    save_authority(dir, &authority)?;
    println!(
        "issued serial {} for {}",
        authority.last_serial(),
        sii.as_str()
    );

    let token = fs::read_to_string(token).map_err(io_err(token))?;
    let client = DpClient::new(dp)?;
    runtime()?.block_on(async {
        let key_id = publish(&client, &sii, &assertion, token.trim(), now).await?;
        println!("published at {dp} (DP key {key_id})");
        Ok(())
    })
}

/// Seal `assertion` for `sii` with the secret from the DP's (verified) evaluation and upload
/// it with the publisher `token`. The DP key's id, as hex.
pub(crate) async fn publish(
    client: &DpClient,
    sii: &Sii,
    assertion: &[u8],
    token: &str,
    now: u64,
) -> Result<String, CliError> {
    let (public, secret) = client.evaluate(sii).await?;
    let record = secret.seal(assertion, &mut OsRng).map_err(err)?;
    let upload = UploadRequest::new(
        vec![UploadEntry {
            index: *secret.index(),
            expires_at: now + RECOMMENDED_VALIDITY_SECS,
            record,
        }],
        vec![],
    )
    .map_err(err)?;
    let body = client
        .post("/discovery/v1/upload", upload.encode(), Some(token))
        .await?;
    let response = UploadResponse::decode(&body).map_err(err)?;
    match response.statuses.first() {
        Some(s) if s.is_stored() => Ok(format!("{:?}", public.id())),
        other => Err(err(format!("the DP refused the record: {other:?}"))),
    }
}

/// Look `sii` up at the DP: evaluate (proof checked), fetch the sealed records, open them and
/// check the assertions inside against `trust` (docs/discovery.md §6.3). The outcome and how
/// many records did not open.
pub(crate) async fn lookup(
    client: &DpClient,
    sii: &Sii,
    trust: &TrustSet,
    now: u64,
) -> Result<(LookupOutcome, usize), CliError> {
    let (_, secret) = client.evaluate(sii).await?;
    let body = client
        .post(
            "/discovery/v1/lookup",
            LookupRequest {
                index: *secret.index(),
            }
            .encode(),
            None,
        )
        .await?;
    let response = LookupResponse::decode(&body).map_err(err)?;
    let (records, unopened) = secret.open_all(&response);
    let outcome = check_lookup(sii, &records, now, trust, &RevocationSet::new());
    Ok((outcome, unopened))
}

/// A tiny HTTP client for the DP.
pub(crate) struct DpClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl DpClient {
    pub(crate) fn new(base: &str) -> Result<Self, CliError> {
        let base = base.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .ok_or_else(|| CliError::Usage(format!("{base}: expected http://host:port")))?;
        if rest.is_empty() || rest.contains(['/', '?', '#']) {
            return Err(CliError::Usage(format!(
                "{base}: expected http://host:port"
            )));
        }
        Ok(Self {
            base: base.to_string(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> Result<Vec<u8>, CliError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, mimi_dp::CBOR);
        }
        if let Some(t) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(err)?;
        let response = tokio::time::timeout(Duration::from_secs(30), async {
            let response = self.http.request(request).await.map_err(err)?;
            let status = response.status();
            let retry = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(err)?
                .to_bytes();
            Ok::<_, CliError>((status, retry, bytes))
        })
        .await
        .map_err(|_| err(format!("{path}: timed out")))??;
        let (status, retry, bytes) = response;
        if status == StatusCode::OK {
            return Ok(bytes.to_vec());
        }
        let text = String::from_utf8_lossy(&bytes);
        Err(err(match (status, retry) {
            (StatusCode::TOO_MANY_REQUESTS, Some(r)) => {
                format!("{path}: rate limited by the DP, retry in {r} s")
            }
            _ => format!("{path}: {status}: {}", text.trim()),
        }))
    }

    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> Result<Vec<u8>, CliError> {
        self.request(Method::POST, path, Some(body), token).await
    }

    /// Fetch the DP key, blind `sii`, have it evaluated and verify the proof.
    async fn evaluate(&self, sii: &Sii) -> Result<(DpPublicKey, LookupSecret), CliError> {
        let info = self
            .request(Method::GET, "/discovery/v1/key", None, None)
            .await?;
        let (_, public) = mimi_lookup::decode_key_info(&info).map_err(err)?;
        let id = ConnectionId::parse(sii.as_str())?;
        let (state, query) = mimi_lookup::blind(&public, &id, &mut OsRng).map_err(err)?;
        let body = self
            .post("/discovery/v1/evaluate", query.encode(), None)
            .await?;
        let evaluation = Evaluation::decode(&body).map_err(err)?;
        let secret = mimi_lookup::finalize(state, &evaluation, &public).map_err(err)?;
        Ok((public, secret))
    }
}

/// Parse a trust file (see [`TRUST_HEADER`]); `#` lines and blank lines are ignored.
fn read_trust(path: &Path) -> Result<TrustSet, CliError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let mut trust = TrustSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| err(format!("{}:{}: {why}", path.display(), n + 1));
        let mut words = line.split_whitespace();
        if words.next() != Some("authority") {
            return Err(bad("expected `authority ID kid=.. key=.. provider=..`"));
        }
        let id = ProviderDomain::parse(words.next().ok_or_else(|| bad("no authority id"))?)?;
        let (mut kid, mut key, mut provider) = (None, None, None);
        for w in words {
            match w.split_once('=') {
                Some(("kid", v)) => kid = Some(KeyId::new(hex::decode(v)?).map_err(err)?),
                Some(("key", v)) => {
                    let bytes: [u8; 32] = hex::decode(v)?
                        .try_into()
                        .map_err(|_| bad("key: expected 32 bytes"))?;
                    key = Some(VerifyingKey::from_bytes(&bytes).map_err(|_| bad("invalid key"))?);
                }
                Some(("provider", v)) => provider = Some(ProviderDomain::parse(v)?),
                _ => return Err(bad("unknown field")),
            }
        }
        let (Some(kid), Some(key), Some(provider)) = (kid, key, provider) else {
            return Err(bad("kid=, key= and provider= are required"));
        };
        trust.insert(
            Authority::new(id, Permissions::provider(provider))
                .with_key(kid, key)
                .map_err(err)?,
        );
    }
    Ok(trust)
}

/// Run `mimi lookup`.
pub fn run_lookup(args: LookupArgs) -> Result<(), CliError> {
    let sii = Sii::parse(&args.sii).map_err(err)?;
    let trust = read_trust(&args.trust)?;
    let client = DpClient::new(&args.dp)?;
    let (outcome, unopened) = runtime()?.block_on(lookup(&client, &sii, &trust, now_secs()))?;
    if unopened > 0 {
        println!("{unopened} record(s) did not open (not for this identifier, or altered)");
    }
    for r in &outcome.rejected {
        let why = match &r.reason {
            LookupRejection::Invalid(e) => format!("invalid: {e}"),
            other => format!("{other:?}"),
        };
        println!("rejected record {}: {why}", r.index);
    }
    if outcome.mappings.is_empty() {
        println!("no verified mapping for {}", sii.as_str());
        return Ok(());
    }
    println!("{} maps to (most preferred first):", sii.as_str());
    for e in outcome.ssis() {
        println!("  {}  priority {}", e.ssi(), e.priority());
    }
    for m in &outcome.mappings {
        let a = m.assertion();
        println!(
            "verified: authority {} serial {} valid until {}",
            a.authority(),
            a.serial(),
            a.expires_at()
        );
    }
    Ok(())
}
