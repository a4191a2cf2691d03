//! `mimi conformance`: run the conformance suite (crate `mimi-conformance`) against a MIMI
//! provider, or, with `--self-test`, against a fresh `mimi serve` started for the purpose.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mimi_conformance::{Driver, MimiApiDriver, Report, SuiteConfig};
use mimi_server::init::{InitOptions, init};
use mimi_types::id::ProviderDomain;

use crate::bench_cmd::WorkDir;
use crate::error::CliError;

/// `mimi conformance`.
#[derive(clap::Args, Debug)]
pub struct ConformanceArgs {
    /// The federation URL of the provider under test (`https://host:port`).
    #[arg(long, required_unless_present_any = ["self_test", "list", "print_setup"])]
    target: Option<String>,
    /// The domain of the provider under test (its certificate must name it).
    #[arg(long, default_value = "b.example")]
    domain: String,
    /// PEM file of the CA(s) the target's federation certificate chains to.
    #[arg(long, required_unless_present_any = ["self_test", "list", "print_setup"])]
    ca: Option<PathBuf>,
    /// The target's client API, if it is a `mimi serve` (cases that need a local user of
    /// the target are skipped without it).
    #[arg(long)]
    client_api: Option<String>,
    /// The suite's certificates and keys (created if missing; the target must trust
    /// `<dir>/ca/ca.pem`).
    #[arg(long, default_value = "mimi-conformance")]
    suite_dir: PathBuf,
    /// Where the suite's peer `conf-c.example` listens.
    #[arg(long, default_value = "127.0.0.1:19431")]
    listen_c: SocketAddr,
    /// Where the suite's peer `conf-d.example` listens.
    #[arg(long, default_value = "127.0.0.1:19432")]
    listen_d: SocketAddr,
    /// Write the results as JUnit XML to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Run only the cases whose ID starts with one of these (e.g. `KM-` `TR-01`).
    #[arg(long, num_args = 1..)]
    only: Vec<String>,
    /// Print what the target must be configured with, and stop.
    #[arg(long)]
    print_setup: bool,
    /// List the cases (a Markdown table: ID, section, what it checks), and stop.
    #[arg(long)]
    list: bool,
    /// Start a fresh `mimi serve` (SQLite, in a temporary directory) and run against it.
    #[arg(long)]
    self_test: bool,
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn free_addr() -> Result<SocketAddr, CliError> {
    Ok(SocketAddr::from((
        [127, 0, 0, 1],
        crate::demo::free_port()?,
    )))
}

/// A `mimi serve` child, killed when dropped.
struct Served {
    child: Child,
    _dir: WorkDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `mimi conformance`.
pub fn run(args: ConformanceArgs) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(run_async(args))
}

async fn run_async(mut args: ConformanceArgs) -> Result<(), CliError> {
    if args.list {
        println!("| ID | Section | Checks |\n|---|---|---|");
        for c in mimi_conformance::cases::all() {
            println!("| {} | {} | {} |", c.id, c.section, c.title);
        }
        return Ok(());
    }
    let files = mimi_conformance::setup::SuiteFiles::prepare(
        &args.suite_dir,
        mimi_conformance::ctx::now_secs(),
    )
    .map_err(err)?;
    if args.print_setup {
        print!("{}", files.instructions(args.listen_c, args.listen_d));
        return Ok(());
    }
    let mut _served = None;
    if args.self_test {
        let (served, target, client_api) = start_self(&args, &files)?;
        _served = Some(served);
        args.target = Some(target);
        args.ca = Some(files.ca_cert());
        args.client_api = Some(client_api);
    }
    let target = args.target.clone().unwrap_or_default();
    let authority = target
        .strip_prefix("https://")
        .unwrap_or(&target)
        .trim_end_matches('/');
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| err(format!("--target {target}: {e}")))?
        .next()
        .ok_or_else(|| err(format!("--target {target}: no address")))?;
    let config = SuiteConfig {
        target: addr,
        domain: ProviderDomain::parse(&args.domain)?,
        target_roots: args.ca.clone().unwrap_or_default(),
        suite_dir: args.suite_dir.clone(),
        listen_c: args.listen_c,
        listen_d: args.listen_d,
    };
    let driver: Option<Box<dyn Driver>> = args
        .client_api
        .as_deref()
        .map(|u| Box::new(MimiApiDriver::new(u)) as Box<dyn Driver>);
    let ctx = mimi_conformance::prepare(&config, driver)
        .await
        .map_err(err)?;
    println!(
        "mimi conformance: {} at {addr}, driver: {}",
        config.domain,
        ctx.driver.as_deref().map(|d| d.name()).unwrap_or("none")
    );
    let report = mimi_conformance::run(&ctx, &args.only, |r| {
        println!("{}", Report::line(r));
    })
    .await;
    println!("{}", report.summary());
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit("mimi-conformance")).map_err(err)?;
    }
    if report.ok() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} case(s) failed",
            report.counts().1
        )))
    }
}

/// Start `mimi serve` for `b.example` (or `--domain`) trusting the suite's CA, with the
/// suite's peers configured; its federation URL and client API URL.
fn start_self(
    args: &ConformanceArgs,
    files: &mimi_conformance::setup::SuiteFiles,
) -> Result<(Served, String, String), CliError> {
    let mut tag = [0u8; 6];
    getrandom::fill(&mut tag).map_err(CliError::Random)?;
    let dir = WorkDir {
        path: std::env::temp_dir().join(format!("mimi-conformance-{}", hex::encode(tag))),
        remove: true,
    };
    let federation = free_addr()?;
    let client = free_addr()?;
    let config_path = init(&InitOptions {
        domain: ProviderDomain::parse(&args.domain)?,
        dir: dir.path.clone(),
        ca_dir: files.ca_dir(),
        federation_listen: federation,
        client_listen: client,
        admin_listen: None,
        peers: vec![
            (
                mimi_conformance::setup::PEER_C.into(),
                args.listen_c.to_string(),
            ),
            (
                mimi_conformance::setup::PEER_D.into(),
                args.listen_d.to_string(),
            ),
        ],
        database_url: None,
        now_secs: mimi_conformance::ctx::now_secs(),
    })?;
    // The suite is one fast peer: lift the per-peer request rate so that the run measures
    // conformance, not the rate limiter (docs/conformance.md).
    let text = std::fs::read_to_string(&config_path).map_err(err)?;
    let mut file: mimi_server::config::ConfigFile = toml::from_str(&text).map_err(err)?;
    file.limits.rates.peer_per_sec = 100_000;
    file.limits.rates.peer_burst = 100_000;
    file.limits.rates.user_per_sec = 100_000;
    file.limits.rates.user_burst = 100_000;
    file.limits.rates.anonymous_per_sec = 100_000;
    file.limits.rates.anonymous_burst = 100_000;
    std::fs::write(&config_path, toml::to_string_pretty(&file).map_err(err)?).map_err(err)?;
    let exe = std::env::current_exe().map_err(err)?;
    let log = std::fs::File::create(dir.path.join("serve.log")).map_err(err)?;
    let child = Command::new(exe)
        .args(["serve", "--config"])
        .arg(&config_path)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(err)?;
    let served = Served { child, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(federation).is_err()
        || std::net::TcpStream::connect(client).is_err()
    {
        if Instant::now() > deadline {
            return Err(err("the provider under test did not start within 30 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((
        served,
        format!("https://{federation}"),
        format!("http://{client}"),
    ))
}
