//! Shared test helpers: loading the draft vectors.
#![allow(dead_code)]

use std::path::PathBuf;

use mimi_content::MessageId;

/// One example message from a draft.
pub struct Vector {
    pub name: String,
    pub bytes: Vec<u8>,
    pub id: MessageId,
}

fn dir(version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(version)
}

/// All vectors of `version` ("content-07" or "content-08"), in manifest order.
pub fn vectors(version: &str) -> Vec<Vector> {
    let d = dir(version);
    let manifest = std::fs::read_to_string(d.join("message-ids.txt")).expect("manifest");
    manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut it = line.split_whitespace();
            let name = it.next().expect("name").to_owned();
            let id: MessageId = it.next().expect("id").parse().expect("hex id");
            let hex = std::fs::read_to_string(d.join(format!("{name}.hex"))).expect("hex file");
            let bytes = hex::decode(hex.trim()).expect("valid hex");
            Vector { name, bytes, id }
        })
        .collect()
}

/// The vector called `name`.
pub fn vector(version: &str, name: &str) -> Vector {
    vectors(version)
        .into_iter()
        .find(|v| v.name == name)
        .expect("vector exists")
}
