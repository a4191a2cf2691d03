//! A black-box conformance suite for MIMI providers (draft-ietf-mimi-protocol-06).
//!
//! The suite plays the other providers: two peer providers (`conf-c.example`,
//! `conf-d.example`) with their own federation certificates, client CAs and OpenMLS clients,
//! listening for what the provider under test sends them, plus identities a malicious peer
//! would use. It talks to the target only through the protocol, and through a [`Driver`]
//! where a case needs a local user of the target. Every case has a stable ID and cites the
//! section it checks; see docs/conformance.md.

pub mod cases;
pub mod ctx;
pub mod driver;
mod error;
pub mod http;
pub mod peer;
pub mod report;
pub mod setup;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use driver::{Driver, MimiApiDriver};
pub use error::ConformanceError;
pub use report::{CaseResult, Report, Verdict};

use crate::ctx::{Ctx, SuitePeer, Target, Why};
use crate::http::{Identity, Version};
use crate::peer::Peer;
use crate::setup::{PEER_C, PEER_D, SuiteFiles};

/// How long one case may run.
const CASE_TIMEOUT: Duration = Duration::from_secs(90);

/// What to run against.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The target's federation listener.
    pub target: SocketAddr,
    /// The target's domain (its certificate must name it).
    pub domain: mimi_types::id::ProviderDomain,
    /// PEM roots that the target's federation certificate chains to.
    pub target_roots: PathBuf,
    /// The suite's files (created if missing).
    pub suite_dir: PathBuf,
    /// Where peer c listens.
    pub listen_c: SocketAddr,
    /// Where peer d listens.
    pub listen_d: SocketAddr,
}

/// Start the suite's peers and build the context.
pub async fn prepare(
    config: &SuiteConfig,
    driver: Option<Box<dyn Driver>>,
) -> Result<Ctx, ConformanceError> {
    let files = SuiteFiles::prepare(&config.suite_dir, ctx::now_secs())?;
    let mut target_roots = http::read_certs(&config.target_roots)?;
    let target_store = Arc::new(http::root_store(&target_roots)?);
    // The peers accept the target's certificate (and, for tests, the suite's own).
    target_roots.extend(http::read_certs(&files.ca_cert())?);
    let peer_roots = Arc::new(http::root_store(&target_roots)?);
    let start_peer = |domain: &'static str, addr: SocketAddr| {
        let files = files.clone();
        let target_store = target_store.clone();
        let peer_roots = peer_roots.clone();
        async move {
            let dir = files.peer_dir(domain);
            let ca_pem = std::fs::read_to_string(dir.join("client-ca.pem"))?;
            let config = mimi_server::config::Config::load(&dir.join("mimi.toml"))
                .map_err(|e| ConformanceError::Files(e.to_string()))?;
            let keys = mimi_server::keys::ProviderKeys::load(&config)
                .map_err(|e| ConformanceError::Files(e.to_string()))?;
            let domain = mimi_types::id::ProviderDomain::parse(domain)
                .map_err(|e| ConformanceError::Files(e.to_string()))?;
            let peer = Peer::start(
                domain,
                addr,
                http::read_certs(&dir.join("tls.pem"))?,
                http::read_key(&dir.join("tls.key"))?,
                peer_roots,
                ca_pem,
            )
            .await?;
            Ok::<_, ConformanceError>(SuitePeer {
                peer,
                identity: Identity::from_files(
                    target_store,
                    &dir.join("tls.pem"),
                    &dir.join("tls.key"),
                )?,
                client_ca: keys.client_ca,
                hub: keys.hub,
            })
        }
    };
    let c = start_peer(PEER_C, config.listen_c).await?;
    let d = start_peer(PEER_D, config.listen_d).await?;
    let rogue = Identity::from_files(
        target_store.clone(),
        &files.rogue_dir().join("tls.pem"),
        &files.rogue_dir().join("tls.key"),
    )?;
    let mut ctx = Ctx {
        target: Target {
            addr: config.target,
            domain: config.domain.clone(),
            directory: None,
        },
        c,
        d,
        rogue,
        anonymous: Identity::anonymous(target_store),
        driver,
    };
    let reply = ctx
        .raw(
            &ctx.c.identity,
            Version::Http1,
            hyper::Method::GET,
            mimi_types::wire::DIRECTORY_PATH,
            &ctx.honest_headers(ctx.c.domain()),
            Vec::new(),
        )
        .await
        .map_err(|e| {
            ConformanceError::Target(format!(
                "fetching the directory of {} at {}: {}",
                config.domain,
                config.target,
                match e {
                    Why::Fail(s) | Why::Skip(s) => s,
                }
            ))
        })?;
    ctx.target.directory = mimi_types::wire::Directory::parse(&reply.body).ok();
    Ok(ctx)
}

/// Run the cases whose ID starts with one of `only` (all when empty) one after another,
/// calling `each` with every result as it comes.
pub async fn run(ctx: &Ctx, only: &[String], mut each: impl FnMut(&CaseResult)) -> Report {
    let mut report = Report::default();
    for case in cases::all() {
        if !only.is_empty() && !only.iter().any(|p| case.id.starts_with(p.as_str())) {
            continue;
        }
        let started = Instant::now();
        let verdict = match tokio::time::timeout(CASE_TIMEOUT, (case.run)(ctx)).await {
            Err(_) => Verdict::Fail(format!(
                "did not finish within {} s",
                CASE_TIMEOUT.as_secs()
            )),
            Ok(Ok(())) => Verdict::Pass,
            Ok(Err(Why::Fail(w))) => Verdict::Fail(w),
            Ok(Err(Why::Skip(w))) => Verdict::Skip(w),
        };
        let result = CaseResult {
            id: case.id,
            section: case.section,
            title: case.title,
            verdict,
            elapsed: started.elapsed(),
        };
        each(&result);
        report.results.push(result);
    }
    report
}
