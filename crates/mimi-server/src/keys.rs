//! The provider's keys and certificates, loaded from the files the configuration names.

use mimi_credential::ClientCa;
use mimi_room::hub::{HubIdentity, HubSigner};
use openmls::prelude::BasicCredential;

use crate::config::Config;
use crate::error::ServerError;

/// Everything secret or signed a provider holds.
pub struct ProviderKeys {
    /// The hub identity of rooms hosted here (external sender and franking agent).
    pub hub: HubIdentity,
    /// The CA certifying this provider's users' clients.
    pub client_ca: ClientCa,
}

fn text(config: &Config, p: &std::path::Path) -> Result<String, ServerError> {
    String::from_utf8(config.read(p)?)
        .map_err(|_| ServerError::Config(format!("{} is not text", p.display())))
}

fn hex_line(line: Option<&str>, what: &str) -> Result<Vec<u8>, ServerError> {
    hex::decode(line.unwrap_or_default().trim())
        .map_err(|_| ServerError::Config(format!("{what}: not hex")))
}

impl ProviderKeys {
    /// Load and check every key file of the configuration.
    pub fn load(config: &Config) -> Result<ProviderKeys, ServerError> {
        let keys = &config.file.keys;
        let client_ca = ClientCa::from_pem(
            &text(config, &keys.client_ca_cert)?,
            &text(config, &keys.client_ca_key)?,
        )
        .map_err(|e| ServerError::Config(format!("client CA: {e}")))?;
        if client_ca.domain() != &config.domain {
            return Err(ServerError::Config(format!(
                "the client CA is for {}, not {}",
                client_ca.domain(),
                config.domain
            )));
        }
        let hub_text = text(config, &keys.hub_key)?;
        let mut lines = hub_text.lines();
        let private = hex_line(lines.next(), "hub key")?;
        let public = hex_line(lines.next(), "hub key")?;
        if private.len() != 32 || public.len() != 32 {
            return Err(ServerError::Config(
                "hub key: expected Ed25519 private and public key lines".into(),
            ));
        }
        let signer = HubSigner::from_private(&private)
            .map_err(|e| ServerError::Config(format!("hub key: {e}")))?;
        if signer.public() != public.as_slice() {
            return Err(ServerError::Config(
                "hub key: the public key line does not match the private key".into(),
            ));
        }
        let franking = hex_line(
            text(config, &keys.franking_key)?.lines().next(),
            "franking key",
        )?;
        let franking_key: [u8; 32] = franking
            .try_into()
            .map_err(|_| ServerError::Config("franking key: expected 32 bytes".into()))?;
        let hub = HubIdentity {
            domain: config.domain.clone(),
            signer,
            // The hub's external-sender credential names its domain (docs/decisions/0050).
            credential: BasicCredential::new(config.domain.as_str().as_bytes().to_vec()).into(),
            franking_key,
        };
        Ok(ProviderKeys { hub, client_ca })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{InitOptions, init};

    /// The keys `mimi init` writes load; a hub key file whose public line is not the private
    /// key's is refused (it would publish a key that verifies none of the hub's signatures).
    #[test]
    fn hub_key_lines_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = init(&InitOptions {
            domain: mimi_types::id::ProviderDomain::parse("a.example").unwrap(),
            dir: dir.path().join("a"),
            ca_dir: dir.path().join("ca"),
            federation_listen: "127.0.0.1:1".parse().unwrap(),
            client_listen: "127.0.0.1:2".parse().unwrap(),
            admin_listen: None,
            peers: Vec::new(),
            database_url: None,
            now_secs: 1_800_000_000,
        })
        .unwrap();
        let config = Config::load(&config_path).unwrap();
        let keys = ProviderKeys::load(&config).unwrap();
        let hub_key = dir.path().join("a").join("hub.key");
        let text = std::fs::read_to_string(&hub_key).unwrap();
        let private = text.lines().next().unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            hex::encode(keys.hub.signer.public())
        );
        std::fs::write(&hub_key, format!("{private}\n{}\n", "ab".repeat(32))).unwrap();
        match ProviderKeys::load(&config) {
            Err(ServerError::Config(m)) => assert!(m.contains("does not match"), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a mismatched hub key was loaded"),
        }
    }
}
