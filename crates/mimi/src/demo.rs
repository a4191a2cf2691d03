//! `mimi demo`: three providers on loopback (hub a.example, followers b.example and
//! c.example), each with its own listeners, mutual-TLS certificates from a private CA and
//! SQLite file; alice (a), bob (b) and cathy (c) run the six flows of protocol-06 §3 through
//! the client library and the providers' client APIs; alice finds bob by his phone number
//! through identifier discovery (a distribution point and b.example as mapping authority).
//! Each step is printed as it happens,
//! with the federation requests it caused and every decrypted message; the run ends with a
//! summary and checks, and exits non-zero if any check fails (docs/decisions/0077).

mod wire_log;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use mimi_client::{ClientEvent, DiscoveryClient, RemoteApi};
use mimi_content::MessageId;
use mimi_discovery::{
    AuthorityConfig, FileCodeSender, MappingAuthority, RECOMMENDED_VALIDITY_SECS, RevocationSet,
    Signer, Sii, SsiEntry, TrustSet,
};
use mimi_dp::{DpFiles, DpOptions, DpState};
use mimi_lookup::rand_core::OsRng;
use mimi_room::policy::Preset;
use mimi_server::config::Config;
use mimi_server::init::{InitOptions, init};
use mimi_server::serve::{Running, start};
use mimi_store::Store;
use mimi_types::id::{ProviderDomain, RoomUri, UserUri};

use crate::client::profile::Profile;
use crate::client::render;
use crate::client::session::{Seen, Session};
use crate::discovery_cmd::{err, publish_at};
use crate::error::CliError;

const DOMAINS: [&str; 3] = ["a.example", "b.example", "c.example"];
const PASSWORD: &str = "demo password";
/// How long the demo waits for deliveries between providers before it gives up.
const SETTLE: Duration = Duration::from_secs(30);

/// `mimi demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the providers running at the end and print how to attach `mimi chat` as each
    /// user (stop with Ctrl-C).
    #[arg(long)]
    keep_running: bool,
    /// Directory for the providers and the users' profiles [default: a new temporary
    /// directory, removed at the end unless --keep-running].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Hide the federation requests between the providers.
    #[arg(long)]
    quiet: bool,
}

/// A provider of the demo.
struct Node {
    running: Running,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// What the demo checks at the end; every entry must hold.
#[derive(Default)]
struct Checks(Vec<(String, bool)>);

impl Checks {
    fn check(&mut self, what: impl Into<String>, ok: bool) {
        self.0.push((what.into(), ok));
    }
}

fn step(n: &str, text: &str) {
    println!("\n== {n} {text}");
}

/// A free loopback port for a federation listener (its peers must know it before it
/// starts), below Linux's ephemeral range so no outgoing connection takes it meanwhile.
pub(crate) fn free_port() -> Result<u16, CliError> {
    // Handed out in turn from a random start, so two listeners of one process never get
    // the same port before the first has bound it.
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = match START.get() {
        Some(start) => *start,
        None => {
            let mut b = [0u8; 2];
            getrandom::fill(&mut b).map_err(CliError::Random)?;
            *START.get_or_init(|| u32::from(u16::from_le_bytes(b)))
        }
    };
    for _ in 0..1000 {
        let turn = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + ((start + turn) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(CliError::Usage(
        "no free loopback port between 20000 and 32000".into(),
    ))
}

fn fresh_dir() -> Result<PathBuf, CliError> {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).map_err(CliError::Random)?;
    Ok(std::env::temp_dir().join(format!("mimi-demo-{}", hex::encode(b))))
}

/// Start the three providers, each knowing where the others listen.
async fn start_providers(dir: &std::path::Path) -> Result<BTreeMap<String, Node>, CliError> {
    let mut ports = BTreeMap::new();
    for d in DOMAINS {
        ports.insert(d.to_string(), free_port()?);
    }
    let now_secs = crate::discovery_cmd::now_secs() as i64;
    let mut nodes = BTreeMap::new();
    for d in DOMAINS {
        let peers = ports
            .iter()
            .filter(|(p, _)| p.as_str() != d)
            .map(|(p, port)| (p.clone(), format!("127.0.0.1:{port}")))
            .collect();
        let config = init(&InitOptions {
            domain: ProviderDomain::parse(d)?,
            dir: dir.join(d),
            ca_dir: dir.join("ca"),
            federation_listen: SocketAddr::from(([127, 0, 0, 1], ports[d])),
            client_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            peers,
            database_url: None,
            now_secs,
        })?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = start(Config::load(&config)?, async move {
            let _ = stopped.await;
        })
        .await?;
        println!(
            "{d}: federation https://{} (mutual TLS), client API http://{}, metrics http://{}/metrics, data {}",
            running.federation_addr,
            running.client_api_addr,
            running
                .admin_addr
                .map_or_else(String::new, |a| a.to_string()),
            dir.join(d).display()
        );
        nodes.insert(d.to_string(), Node { running, stop });
    }
    Ok(nodes)
}

/// A message a user decrypted.
struct Received {
    text: String,
    id: MessageId,
}

/// Identifier discovery beside the providers: a distribution point, and b.example as the
/// mapping authority for its users' phone numbers (it proves control by a one-time code).
struct Discovery {
    dp: DiscoveryClient,
    token: String,
    authority: MappingAuthority<FileCodeSender>,
    trust: TrustSet,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Start the distribution point on a free loopback port and b.example's authority.
async fn start_discovery(dir: &std::path::Path) -> Result<Discovery, CliError> {
    let files = DpFiles::open(dir.join("dp")).map_err(err)?;
    let token = files.publisher_token().map_err(err)?;
    let state = Arc::new(DpState::open(files, &DpOptions::default()).map_err(err)?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(CliError::Runtime)?;
    let addr = listener.local_addr().map_err(CliError::Runtime)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(mimi_dp::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(CliError::Random)?;
    let signer = Signer::from_secret(ProviderDomain::parse("b.example")?, &secret);
    let codes = dir.join("b.example-authority");
    std::fs::create_dir_all(&codes).map_err(|e| CliError::Read {
        path: codes.display().to_string(),
        source: e,
    })?;
    let authority = MappingAuthority::provider(
        signer,
        AuthorityConfig::default(),
        FileCodeSender::new(codes),
    )
    .map_err(err)?;
    let mut trust = TrustSet::new();
    trust.insert(authority.trust_entry().map_err(err)?);
    println!(
        "distribution point: http://{addr} (stores only sealed records under OPRF-keyed indices)"
    );
    Ok(Discovery {
        dp: DiscoveryClient::new(&format!("http://{addr}"))?,
        token,
        authority,
        trust,
        stop,
        task,
    })
}

/// Bob proves his phone number to b.example, which signs the mapping to his user URI and
/// publishes it sealed at the distribution point; alice looks the number up (written
/// differently) and verifies the answer. The user alice found.
async fn find_bob_by_phone(
    demo: &mut Demo,
    discovery: &mut Discovery,
) -> Result<UserUri, CliError> {
    let now = crate::discovery_cmd::now_secs();
    let bob = demo.user("bob").mimi.user_uri().clone();
    let sii = Sii::parse(BOB_PHONE).map_err(err)?;
    let authority = &mut discovery.authority;
    let challenge = authority
        .start_proof(&sii, std::slice::from_ref(&bob), now, &mut OsRng)
        .map_err(err)?;
    let code = authority
        .sender()
        .last_code_for(&sii)
        .map_err(err)?
        .ok_or_else(|| err("the authority sent no code"))?;
    println!(
        "  b.example sends a one-time code to {} (the demo's SMS is {}); bob enters {code}",
        sii.as_str(),
        authority.sender().path().display()
    );
    let proof = authority
        .complete_proof(&challenge, &code, now)
        .map_err(err)?;
    let assertion = authority
        .issue(
            &proof,
            &sii,
            vec![SsiEntry::new(bob.clone(), 0)],
            RECOMMENDED_VALIDITY_SECS,
            now,
        )
        .map_err(err)?;
    publish_at(
        &discovery.dp,
        &sii,
        &[(&assertion, now + RECOMMENDED_VALIDITY_SECS)],
        &discovery.token,
    )
    .await?;
    println!(
        "  b.example signs {} → {bob} and publishes it, sealed, at the distribution point",
        sii.as_str()
    );
    let asked = Sii::parse(ALICE_TYPES).map_err(err)?;
    let found = discovery
        .dp
        .lookup(
            &asked,
            &discovery.trust,
            &RevocationSet::new(),
            &Default::default(),
            now,
        )
        .await?;
    let found = found
        .best()
        .cloned()
        .ok_or_else(|| err(format!("no verified mapping for {ALICE_TYPES}")))?;
    println!("  alice looks up {ALICE_TYPES}: {found}, signed by b.example and verified");
    Ok(found)
}

/// Bob's phone number, and how alice writes it.
const BOB_PHONE: &str = "+12025550101";
const ALICE_TYPES: &str = "+1 (202) 555-0101";

/// The demo's world: providers and users.
struct Demo {
    dir: PathBuf,
    nodes: BTreeMap<String, Node>,
    users: BTreeMap<&'static str, Session>,
    /// Every message each user decrypted.
    received: BTreeMap<&'static str, Vec<Received>>,
}

impl Demo {
    fn api(&self, domain: &str) -> Result<RemoteApi, CliError> {
        Ok(RemoteApi::at(self.nodes[domain].running.client_api_addr)?)
    }

    fn user(&mut self, name: &str) -> &mut Session {
        self.users.get_mut(name).expect("a demo user")
    }

    /// Register a user at `domain` with a profile in the demo directory.
    async fn register(
        &mut self,
        name: &'static str,
        domain: &str,
        device: &str,
    ) -> Result<(), CliError> {
        let mut session =
            Session::register(self.api(domain)?, name, PASSWORD, name, device).await?;
        let profile = Profile::open(&self.dir.join(format!("{name}.db")), true).await?;
        session.profile = Some(profile);
        session.save().await?;
        println!(
            "{name} registered at {domain}: user {}, device {} (credential from {domain}'s client CA), 20 KeyPackages published",
            session.mimi.user_uri(),
            session.mimi.client_uri()
        );
        self.users.insert(name, session);
        self.received.insert(name, Vec::new());
        Ok(())
    }

    /// Wait until no provider has deliveries queued, then let every device catch up with
    /// its event stream, printing what it saw.
    async fn settle(&mut self) -> Result<(), CliError> {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let mut busy = false;
            for node in self.nodes.values() {
                let backlog = node
                    .running
                    .provider
                    .store
                    .outbox_backlog()
                    .await
                    .map_err(|e| CliError::Usage(format!("outbox: {e}")))?;
                busy |= !backlog.is_empty();
            }
            if !busy {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(CliError::Usage(
                    "deliveries between the providers did not finish in 30 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Give the log lines of the last deliveries a moment to be printed first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let names: Vec<&'static str> = self.users.keys().copied().collect();
        for name in names {
            let session = self.users.get_mut(name).expect("user");
            let seen = session.sync().await?;
            for s in &seen {
                if let Seen::Event(ClientEvent::Message {
                    content,
                    message_id,
                    ..
                }) = s
                {
                    self.received.get_mut(name).expect("user").push(Received {
                        text: mimi_content::render_text(content),
                        id: *message_id,
                    });
                }
                if let Some((_, line)) = render::line(s) {
                    println!("  {name} sees: {line}");
                }
            }
            render::remember(session, &seen).await?;
        }
        Ok(())
    }

    fn epochs(&self, room: &RoomUri) -> Vec<(String, u64)> {
        self.users
            .iter()
            .filter_map(|(name, s)| s.mimi.epoch(room).ok().map(|e| (name.to_string(), e)))
            .collect()
    }

    async fn stop(self) {
        for (d, node) in self.nodes {
            let _ = node.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), node.running.done).await;
            tracing::debug!(domain = d, "stopped");
        }
        for session in self.users.values() {
            if let Some(p) = &session.profile {
                p.close().await;
            }
        }
    }
}

/// Run the six flows; the checks to report.
async fn flows(demo: &mut Demo, discovery: &mut Discovery) -> Result<(Checks, RoomUri), CliError> {
    let mut checks = Checks::default();
    demo.register("alice", "a.example", "laptop").await?;
    demo.register("bob", "b.example", "phone").await?;
    demo.register("cathy", "c.example", "tablet").await?;

    step(
        "1.",
        "alice creates the room mimi://a.example/r/clubhouse, hosted by her provider (the hub)",
    );
    let room = demo
        .user("alice")
        .create_room("clubhouse", Preset::CooperativelyAdministered)
        .await?;
    println!("  a.example now hosts {room}: policy cooperatively-administered, alice super_admin");
    demo.settle().await?;

    step(
        "2.",
        "alice finds bob by his phone number, then adds him: a.example claims a KeyPackage of bob's from b.example, alice commits, the hub fans out",
    );
    let bob = find_bob_by_phone(demo, discovery).await?;
    checks.check(
        "alice found bob's user URI by his phone number (verified mapping)",
        &bob == demo.user("bob").mimi.user_uri(),
    );
    demo.user("alice").add(&room, &[bob]).await?;
    demo.settle().await?;
    checks.check(
        "bob joined by Welcome",
        demo.user("bob").mimi.epoch(&room).is_ok(),
    );

    step(
        "3.",
        "bob adds cathy: b.example asks the hub, which relays the KeyPackage claim to c.example",
    );
    let cathy = demo.user("cathy").mimi.user_uri().clone();
    demo.user("bob").add(&room, &[cathy]).await?;
    demo.settle().await?;
    checks.check(
        "cathy joined by Welcome",
        demo.user("cathy").mimi.epoch(&room).is_ok(),
    );

    step(
        "4.",
        "cathy sends a message; the hub franks it and fans it out; bob replies, alice reacts",
    );
    demo.user("cathy")
        .send_text(&room, "Hi everyone", None)
        .await?;
    demo.settle().await?;
    let first = demo.received["bob"]
        .last()
        .map(|r| r.id)
        .ok_or_else(|| CliError::Usage("bob received no message".into()))?;
    demo.user("bob")
        .send_text(
            &room,
            "Hello cathy! Welcome to the **clubhouse**",
            Some(first),
        )
        .await?;
    demo.user("alice").react(&room, first, "👍").await?;
    demo.settle().await?;

    step(
        "5.",
        "bob leaves: his Remove proposal is cached at the hub; cathy's next commit must include it",
    );
    demo.user("bob").leave(&room).await?;
    demo.settle().await?;
    demo.user("cathy").commit_pending(&room).await?;
    demo.settle().await?;
    checks.check(
        "bob's device is out of the room",
        demo.user("bob").mimi.epoch(&room).is_err(),
    );

    step(
        "6.",
        "cathy's second device joins by external commit with the GroupInfo from the hub",
    );
    let mut phone = Session::login(demo.api("c.example")?, "cathy", PASSWORD, "phone").await?;
    phone.profile = Some(Profile::open(&demo.dir.join("cathy-phone.db"), true).await?);
    phone.join(&room).await?;
    println!("  {} joined {room}", phone.mimi.client_uri());
    demo.users.insert("cathy-phone", phone);
    demo.received.insert("cathy-phone", Vec::new());
    demo.settle().await?;
    demo.user("cathy-phone")
        .send_text(&room, "Hello from my phone", None)
        .await?;
    demo.settle().await?;

    // The checks.
    let epochs = demo.epochs(&room);
    let first_epoch = epochs.first().map(|(_, e)| *e);
    checks.check(
        format!("alice, cathy and cathy's phone agree on the epoch ({epochs:?})"),
        epochs.len() == 3 && epochs.iter().all(|(_, e)| Some(*e) == first_epoch),
    );
    let texts = |name: &str| -> Vec<String> {
        demo.received[name].iter().map(|r| r.text.clone()).collect()
    };
    checks.check(
        "alice decrypted cathy's message, bob's reply and the phone's message",
        texts("alice").iter().any(|t| t == "Hi everyone")
            && texts("alice").iter().any(|t| t.contains("Hello cathy!"))
            && texts("alice").iter().any(|t| t == "Hello from my phone"),
    );
    checks.check(
        "bob decrypted cathy's message and alice's reaction, and nothing after he left",
        texts("bob").iter().any(|t| t == "Hi everyone")
            && texts("bob").iter().any(|t| t.contains("👍"))
            && !texts("bob").iter().any(|t| t == "Hello from my phone"),
    );
    checks.check(
        "cathy's tablet decrypted the phone's message",
        texts("cathy").iter().any(|t| t == "Hello from my phone"),
    );
    Ok((checks, room))
}

async fn summary(demo: &Demo, checks: &Checks) -> Result<bool, CliError> {
    println!("\n== summary");
    for (d, node) in &demo.nodes {
        let counts = node
            .running
            .provider
            .store
            .counts()
            .await
            .map_err(|e| CliError::Usage(format!("counts: {e}")))?;
        println!(
            "{d}: {} users, {} devices, hosts {} rooms, {} KeyPackages left",
            counts.users, counts.clients, counts.hub_rooms, counts.key_packages
        );
    }
    for (name, messages) in &demo.received {
        println!("{name} decrypted {} messages", messages.len());
    }
    let mut all = true;
    for (what, ok) in &checks.0 {
        println!("[{}] {what}", if *ok { "ok" } else { "FAILED" });
        all &= ok;
    }
    Ok(all)
}

/// Run `mimi demo`.
pub fn run(args: DemoArgs) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    wire_log::install(!args.quiet);
    let temporary = args.dir.is_none();
    let dir = match args.dir {
        Some(d) => d,
        None => fresh_dir()?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Read {
        path: dir.display().to_string(),
        source: e,
    })?;
    let result = runtime.block_on(async {
        println!(
            "mimi demo: three providers on loopback, data in {}",
            dir.display()
        );
        let nodes = start_providers(&dir).await?;
        let mut demo = Demo {
            dir: dir.clone(),
            nodes,
            users: BTreeMap::new(),
            received: BTreeMap::new(),
        };
        let mut discovery = start_discovery(&dir).await?;
        let outcome = flows(&mut demo, &mut discovery).await;
        let passed = match &outcome {
            Ok((checks, _)) => summary(&demo, checks).await?,
            Err(_) => false,
        };
        if let (true, Ok((_, room))) = (args.keep_running && outcome.is_ok(), &outcome) {
            println!("\nThe providers keep running. In another terminal, chat as any user:");
            let exe = std::env::current_exe()
                .map_or_else(|_| "mimi".to_string(), |p| p.display().to_string());
            for name in ["alice", "cathy", "cathy-phone"] {
                println!(
                    "  {exe} chat --profile {} {room}",
                    dir.join(format!("{name}.db")).display()
                );
            }
            println!("Stop with Ctrl-C.");
            let _ = tokio::signal::ctrl_c().await;
        }
        demo.stop().await;
        let _ = discovery.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), discovery.task).await;
        outcome?;
        if passed {
            println!("\nall checks passed");
            Ok(())
        } else {
            Err(CliError::Usage("some checks failed".into()))
        }
    });
    if temporary && !args.keep_running {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
