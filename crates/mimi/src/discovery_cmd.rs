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
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mimi_client::{DiscoveryClient, Found, Publication, Relay};
use mimi_discovery::{
    AuthorityConfig, ChallengeId, FileCodeSender, LookupRejection, MappingAuthority, Permissions,
    RECOMMENDED_VALIDITY_SECS, RevocationSet, RevocationTarget, Signer, Sii, SsiEntry,
    TRUST_FILE_HEADER, TrustSet, format_trust_line, parse_trust_file,
};
use mimi_lookup::DpPublicKey;
use mimi_lookup::rand_core::OsRng;
use mimi_types::id::{ProviderDomain, UserUri};

use crate::error::CliError;

/// `mimi discovery`.
#[derive(Debug, Subcommand)]
pub enum DiscoveryCommand {
    /// Run a distribution point (HTTP) until SIGTERM or Ctrl-C.
    Serve(crate::dp_cmd::ServeArgs),
    /// The publishers a distribution point accepts uploads from: add (prints the token once),
    /// list.
    #[command(subcommand)]
    Publisher(crate::dp_cmd::PublisherCommand),
    /// Run an Oblivious HTTP relay in front of a distribution point's gateway, so that the
    /// point cannot tell who looks up what (docs/discovery.md §12).
    Relay(crate::dp_cmd::RelayArgs),
    /// A mapping authority: prove control of an SII by one-time code, issue, publish.
    #[command(subcommand)]
    Authority(AuthorityCommand),
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
        #[command(flatten)]
        publish: PublishArgs,
    },
    /// Re-issue the latest assertion of an SII (control proven within the renewal window) and
    /// publish it.
    Renew {
        /// The authority's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The phone number or email address, as written.
        #[arg(long)]
        sii: String,
        #[command(flatten)]
        publish: PublishArgs,
    },
    /// Sign a revocation (the recipient or the SII's issuer asked for it) and publish it:
    /// of one SSI's mapping (`--ssi`), of one assertion (`--serial`), or of every mapping of
    /// the SII (neither).
    Revoke {
        /// The authority's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The phone number or email address, as written.
        #[arg(long)]
        sii: String,
        /// Revoke only the mapping to this SSI.
        #[arg(long, conflicts_with = "serial")]
        ssi: Option<String>,
        /// Revoke only the assertion with this serial.
        #[arg(long)]
        serial: Option<u64>,
        #[command(flatten)]
        publish: PublishArgs,
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

/// Where an authority publishes: a distribution point and its publisher token.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The distribution point, `http://host:port`.
    #[arg(long)]
    dp: String,
    /// The DP's publisher token file (`publisher-token` in its data directory).
    #[arg(long)]
    dp_token: PathBuf,
}

/// How to reach a distribution point for lookups (`mimi lookup`, `mimi room add`).
#[derive(Debug, Clone, Default, Args)]
pub struct DpArgs {
    /// The distribution point, `http://host:port`.
    #[arg(long, env = "MIMI_DP")]
    pub dp: Option<String>,
    /// The trust file: the authorities whose assertions count.
    #[arg(long, env = "MIMI_TRUST")]
    pub trust: Option<PathBuf>,
    /// The DP's OPRF public key (64 hex digits), pinned: a DP announcing another is refused.
    #[arg(long, env = "MIMI_DP_KEY")]
    pub dp_key: Option<String>,
    /// Send lookups through this OHTTP relay (`http://host:port[/path]`), so that the DP
    /// cannot tell who asks.
    #[arg(long, env = "MIMI_RELAY")]
    pub relay: Option<String>,
    /// The DP gateway's OHTTP key configurations (`application/ohttp-keys`, hex or a file);
    /// fetched from the DP if not given.
    #[arg(long, env = "MIMI_OHTTP_KEYS", requires = "relay")]
    pub ohttp_keys: Option<String>,
}

impl DpArgs {
    /// Look `sii` up at the distribution point these options name and verify the answer (no
    /// revocations or serial floors carried over from earlier lookups: docs/decisions/0139).
    pub(crate) async fn lookup(&self, sii: &Sii) -> Result<Found, CliError> {
        let (client, trust) = self.connect().await?;
        Ok(client
            .lookup(
                sii,
                &trust,
                &RevocationSet::new(),
                &Default::default(),
                now_secs(),
            )
            .await?)
    }

    /// The client and trust set these options describe.
    pub(crate) async fn connect(&self) -> Result<(DiscoveryClient, TrustSet), CliError> {
        let (Some(dp), Some(trust)) = (&self.dp, &self.trust) else {
            return Err(CliError::Usage(
                "discovery needs --dp URL and --trust FILE (or MIMI_DP and MIMI_TRUST)".into(),
            ));
        };
        let trust_set = read_trust(trust)?;
        let mut client = DiscoveryClient::new(dp)?;
        if let Some(key) = &self.dp_key {
            let bytes: [u8; 32] = hex::decode(key.trim())?
                .try_into()
                .map_err(|_| CliError::Usage("--dp-key: expected 32 bytes of hex".into()))?;
            client = client.pin_key(DpPublicKey::from_bytes(&bytes).map_err(err)?);
        }
        if let Some(relay) = &self.relay {
            let keys = match &self.ohttp_keys {
                Some(k) if Path::new(k).exists() => fs::read(k).map_err(io_err(Path::new(k)))?,
                Some(k) => hex::decode(k.trim())?,
                None => client.ohttp_keys().await?,
            };
            client = client.via_relay(Relay::new(relay, keys)?);
        }
        Ok((client, trust_set))
    }
}

/// `mimi lookup`.
#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The phone number or email address to look up, as written.
    sii: String,
    #[command(flatten)]
    dp: DpArgs,
}

const KEY_FILE: &str = "authority.key";
const CONF_FILE: &str = "authority.conf";
const STATE_FILE: &str = "authority.state";
const CHALLENGES_FILE: &str = "challenges";
/// How long a distribution point keeps a revocation: the longest assertion lifetime (366
/// days) and one day (docs/discovery.md §13.5).
const REVOCATION_KEPT_SECS: u64 = 367 * 86_400;

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
        DiscoveryCommand::Serve(args) => crate::dp_cmd::serve(args),
        DiscoveryCommand::Publisher(cmd) => crate::dp_cmd::publisher(cmd),
        DiscoveryCommand::Relay(args) => crate::dp_cmd::relay(args),
        DiscoveryCommand::Authority(cmd) => authority(cmd),
    }
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
            publish,
        } => issue(&dir, &sii, &code, &publish),
        AuthorityCommand::Renew { dir, sii, publish } => {
            let mut authority = load_authority(&dir)?;
            let sii = Sii::parse(&sii).map_err(err)?;
            let now = now_secs();
            let assertion = authority.renew(&sii, now).map_err(err)?;
            save_authority(&dir, &authority)?;
            println!(
                "renewed {} as serial {}",
                sii.as_str(),
                authority.last_serial()
            );
            publish_objects(
                &publish,
                &sii,
                &[(&assertion, now + RECOMMENDED_VALIDITY_SECS)],
            )
        }
        AuthorityCommand::Revoke {
            dir,
            sii,
            ssi,
            serial,
            publish,
        } => {
            let mut authority = load_authority(&dir)?;
            let sii = Sii::parse(&sii).map_err(err)?;
            let target = match (ssi, serial) {
                (Some(ssi), _) => RevocationTarget::Mapping {
                    sii: sii.clone(),
                    ssi: UserUri::parse(&ssi)?,
                },
                (None, Some(serial)) => RevocationTarget::Serial(serial),
                (None, None) => RevocationTarget::Sii(sii.clone()),
            };
            let now = now_secs();
            let revocation = authority.revoke(target, now).map_err(err)?;
            save_authority(&dir, &authority)?;
            println!("revoked for {}", sii.as_str());
            // Published under the SII's index, beside what it revokes, for as long as anything
            // it covers can be valid.
            publish_objects(&publish, &sii, &[(&revocation, now + REVOCATION_KEPT_SECS)])
        }
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
                "{TRUST_FILE_HEADER}\n{}\n",
                format_trust_line(
                    authority.id(),
                    authority.kid(),
                    &authority.verifying_key(),
                    &provider
                ),
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

fn issue(dir: &Path, sii: &str, code: &str, publish: &PublishArgs) -> Result<(), CliError> {
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
    publish_objects(
        publish,
        &sii,
        &[(&assertion, now + RECOMMENDED_VALIDITY_SECS)],
    )
}

/// Seal and upload signed objects (each with the time until which the DP keeps it) for `sii`.
fn publish_objects(
    publish: &PublishArgs,
    sii: &Sii,
    objects: &[(&[u8], u64)],
) -> Result<(), CliError> {
    let token = fs::read_to_string(&publish.dp_token).map_err(io_err(&publish.dp_token))?;
    let client = DiscoveryClient::new(&publish.dp)?;
    runtime()?.block_on(async {
        let key = publish_at(&client, sii, objects, token.trim()).await?;
        println!("published at {} (DP key {key:?})", publish.dp);
        Ok(())
    })
}

/// Seal `objects` for `sii` under the DP's (verified) evaluation and upload them with the
/// publisher `token`; every one must be stored. The DP key's id.
pub(crate) async fn publish_at(
    client: &DiscoveryClient,
    sii: &Sii,
    objects: &[(&[u8], u64)],
    token: &str,
) -> Result<mimi_lookup::KeyId, CliError> {
    let publications: Vec<_> = objects
        .iter()
        .map(|&(object, expires_at)| Publication { object, expires_at })
        .collect();
    let statuses = client.publish(token, sii, &publications).await?;
    if let Some(refused) = statuses.iter().find(|s| !s.is_stored()) {
        return Err(err(format!("the DP refused the record: {refused:?}")));
    }
    Ok(client.key().await?.id())
}

/// Parse a trust file (docs/discovery.md §4.4).
pub(crate) fn read_trust(path: &Path) -> Result<TrustSet, CliError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    parse_trust_file(&text).map_err(|e| err(format!("{}: {e}", path.display())))
}

/// Print what a lookup found.
pub(crate) fn print_found(found: &Found) {
    if found.unopened > 0 {
        println!(
            "{} record(s) did not open (not for this identifier, or altered)",
            found.unopened
        );
    }
    let outcome = &found.outcome;
    for r in &outcome.rejected {
        let why = match &r.reason {
            LookupRejection::Invalid(e) => format!("invalid: {e}"),
            other => format!("{other:?}"),
        };
        println!("rejected record {}: {why}", r.index);
    }
    if outcome.mappings.is_empty() {
        println!("no verified mapping for {}", found.sii.as_str());
        return;
    }
    println!("{} maps to (most preferred first):", found.sii.as_str());
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
}

/// Run `mimi lookup`.
pub fn run_lookup(args: LookupArgs) -> Result<(), CliError> {
    let sii = Sii::parse(&args.sii).map_err(err)?;
    let found = runtime()?.block_on(args.dp.lookup(&sii))?;
    print_found(&found);
    Ok(())
}
