//! The endpoint directory, `GET /.well-known/mimi-protocol-directory` (protocol-06 §5.1).
//!
//! A JSON object mapping endpoint names to URL templates. The draft's own example is not valid
//! JSON (`"proxyDownload"` lacks its `:`) and writes `update{roomId}` without a `/`; parsing
//! accepts both defects, emitting always produces valid JSON (docs/decisions).

use serde::{Deserialize, Serialize};

use crate::Error;

/// Largest directory document accepted, in bytes.
pub const MAX_DIRECTORY_LEN: usize = 64 * 1024;

/// The well-known path of the directory.
pub const DIRECTORY_PATH: &str = "/.well-known/mimi-protocol-directory";

/// A protocol-06 endpoint, named as in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `keyMaterial`, templated by `{targetUser}`.
    KeyMaterial,
    /// `update`, templated by `{roomId}`.
    Update,
    /// `notify`, templated by `{roomId}`.
    Notify,
    /// `submitMessage`, templated by `{roomId}`.
    SubmitMessage,
    /// `groupInfo`, templated by `{roomId}`.
    GroupInfo,
    /// `requestConsent`, templated by `{targetDomain}` (the directory example says
    /// `{targetUser}`).
    RequestConsent,
    /// `updateConsent`, templated by `{requesterDomain}` (the example says `{requesterUser}`).
    UpdateConsent,
    /// `identifierQuery`, templated by `{domain}`.
    IdentifierQuery,
    /// `reportAbuse`, templated by `{roomId}`.
    ReportAbuse,
    /// `proxyDownload`, templated by `{downloadUrl}`.
    ProxyDownload,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 10] = [
        Endpoint::KeyMaterial,
        Endpoint::Update,
        Endpoint::Notify,
        Endpoint::SubmitMessage,
        Endpoint::GroupInfo,
        Endpoint::RequestConsent,
        Endpoint::UpdateConsent,
        Endpoint::IdentifierQuery,
        Endpoint::ReportAbuse,
        Endpoint::ProxyDownload,
    ];

    /// The directory key and the path segment of the endpoint.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::KeyMaterial => "keyMaterial",
            Endpoint::Update => "update",
            Endpoint::Notify => "notify",
            Endpoint::SubmitMessage => "submitMessage",
            Endpoint::GroupInfo => "groupInfo",
            Endpoint::RequestConsent => "requestConsent",
            Endpoint::UpdateConsent => "updateConsent",
            Endpoint::IdentifierQuery => "identifierQuery",
            Endpoint::ReportAbuse => "reportAbuse",
            Endpoint::ProxyDownload => "proxyDownload",
        }
    }

    /// The placeholder this implementation writes in its own directory.
    pub fn placeholder(self) -> &'static str {
        match self {
            Endpoint::KeyMaterial => "{targetUser}",
            Endpoint::Update
            | Endpoint::Notify
            | Endpoint::SubmitMessage
            | Endpoint::GroupInfo
            | Endpoint::ReportAbuse => "{roomId}",
            Endpoint::RequestConsent => "{targetDomain}",
            Endpoint::UpdateConsent => "{requesterDomain}",
            Endpoint::IdentifierQuery => "{domain}",
            Endpoint::ProxyDownload => "{downloadUrl}",
        }
    }
}

/// A provider's endpoint directory: URL templates by endpoint; absent endpoints are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// `keyMaterial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_material: Option<String>,
    /// `update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// `notify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// `submitMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_message: Option<String>,
    /// `groupInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_info: Option<String>,
    /// `requestConsent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_consent: Option<String>,
    /// `updateConsent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_consent: Option<String>,
    /// `identifierQuery`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_query: Option<String>,
    /// `reportAbuse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_abuse: Option<String>,
    /// `proxyDownload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_download: Option<String>,
}

impl Directory {
    /// The directory of a server whose endpoints live under `base` (e.g.
    /// `https://mimi.a.example/v1`): `{base}/{endpoint}/{placeholder}` for every endpoint.
    pub fn for_base(base: &str) -> Directory {
        let base = base.trim_end_matches('/');
        let mut dir = Directory::default();
        for e in Endpoint::ALL {
            *dir.slot_mut(e) = Some(format!("{base}/{}/{}", e.name(), e.placeholder()));
        }
        dir
    }

    /// Parse a directory document, accepting the defects of the draft's published example.
    pub fn parse(bytes: &[u8]) -> Result<Directory, Error> {
        if bytes.len() > MAX_DIRECTORY_LEN {
            return Err(Error::Directory(format!(
                "{} bytes, over the limit of {MAX_DIRECTORY_LEN}",
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| Error::Directory("not UTF-8".into()))?;
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(first) => serde_json::from_str(&insert_missing_colons(text)).map_err(|_| {
                Error::Directory(format!("not a JSON object of URL templates: {first}"))
            })?,
        };
        if !value.is_object() {
            return Err(Error::Directory(
                "not a JSON object of URL templates".into(),
            ));
        }
        let dir: Directory = serde_json::from_value(value)
            .map_err(|e| Error::Directory(format!("not a JSON object of URL templates: {e}")))?;
        for e in Endpoint::ALL {
            if let Some(t) = dir.template(e) {
                check_template(t).map_err(|r| Error::Directory(format!("{}: {r}", e.name())))?;
            }
        }
        Ok(dir)
    }

    /// Encode as JSON.
    pub fn to_json(&self) -> String {
        // Serializing a struct of optional strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The URL template of an endpoint.
    pub fn template(&self, e: Endpoint) -> Option<&str> {
        match e {
            Endpoint::KeyMaterial => self.key_material.as_deref(),
            Endpoint::Update => self.update.as_deref(),
            Endpoint::Notify => self.notify.as_deref(),
            Endpoint::SubmitMessage => self.submit_message.as_deref(),
            Endpoint::GroupInfo => self.group_info.as_deref(),
            Endpoint::RequestConsent => self.request_consent.as_deref(),
            Endpoint::UpdateConsent => self.update_consent.as_deref(),
            Endpoint::IdentifierQuery => self.identifier_query.as_deref(),
            Endpoint::ReportAbuse => self.report_abuse.as_deref(),
            Endpoint::ProxyDownload => self.proxy_download.as_deref(),
        }
    }

    fn slot_mut(&mut self, e: Endpoint) -> &mut Option<String> {
        match e {
            Endpoint::KeyMaterial => &mut self.key_material,
            Endpoint::Update => &mut self.update,
            Endpoint::Notify => &mut self.notify,
            Endpoint::SubmitMessage => &mut self.submit_message,
            Endpoint::GroupInfo => &mut self.group_info,
            Endpoint::RequestConsent => &mut self.request_consent,
            Endpoint::UpdateConsent => &mut self.update_consent,
            Endpoint::IdentifierQuery => &mut self.identifier_query,
            Endpoint::ReportAbuse => &mut self.report_abuse,
            Endpoint::ProxyDownload => &mut self.proxy_download,
        }
    }

    /// The URL of an endpoint for one argument, already in URL path form (e.g.
    /// `a.example/r/clubhouse` from [`crate::id::MimiUri::to_url_path`], a domain, or a
    /// percent-encoded download URL).
    ///
    /// The template's `{...}` placeholder is replaced by `arg`; a `/` is inserted when the
    /// template lacks one before the placeholder (the draft's `update{roomId}`).
    pub fn url(&self, e: Endpoint, arg: &str) -> Result<String, Error> {
        let template = self
            .template(e)
            .ok_or_else(|| Error::Directory(format!("no {} endpoint", e.name())))?;
        let (start, end) = placeholder_span(template).ok_or_else(|| {
            Error::Directory(format!("{}: template has no placeholder", e.name()))
        })?;
        let (head, tail) = (&template[..start], &template[end..]);
        let slash = if head.ends_with('/') { "" } else { "/" };
        Ok(format!("{head}{slash}{arg}{tail}"))
    }
}

/// Byte span of the first `{...}` in a template.
fn placeholder_span(t: &str) -> Option<(usize, usize)> {
    let start = t.find('{')?;
    let len = t[start..].find('}')?;
    Some((start, start + len + 1))
}

fn check_template(t: &str) -> Result<(), String> {
    if !t.starts_with("https://") {
        return Err("URL template must start with https://".into());
    }
    if placeholder_span(t).is_none() {
        return Err("URL template has no {placeholder}".into());
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("URL template contains whitespace".into());
    }
    Ok(())
}

/// Insert the `:` missing between a key and its string value (`"key" "value"`), the defect
/// of the draft's `proxyDownload` line. Strings are copied verbatim.
fn insert_missing_colons(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    // Whether the last complete token was a string that may be a key awaiting its colon.
    let mut after_key_string = false;
    let mut expecting_key = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                if after_key_string {
                    out.push(':');
                    after_key_string = false;
                    expecting_key = false;
                    out.push('"');
                    copy_string_body(&mut chars, &mut out);
                    continue;
                }
                out.push('"');
                copy_string_body(&mut chars, &mut out);
                after_key_string = expecting_key;
                expecting_key = false;
            }
            '{' | ',' => {
                out.push(c);
                expecting_key = true;
                after_key_string = false;
            }
            c if c.is_whitespace() => out.push(c),
            _ => {
                out.push(c);
                after_key_string = false;
                expecting_key = false;
            }
        }
    }
    out
}

/// Copy a JSON string's body up to and including its closing quote.
fn copy_string_body(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of protocol-06 §5.1, verbatim, defects included.
    const DRAFT_EXAMPLE: &str = r#"{
  "keyMaterial":
     "https://mimi.example.com/v1/keyMaterial/{targetUser}",
  "update": "https://mimi.example.com/v1/update{roomId}",
  "notify": "https://mimi.example.com/v1/notify/{roomId}",
  "submitMessage":
     "https://mimi.example.com/v1/submitMessage/{roomId}",
  "groupInfo":
     "https://mimi.example.com/v1/groupInfo/{roomId}",
  "requestConsent":
     "https://mimi.example.com/v1/requestConsent/{targetUser}",
  "updateConsent":
     "https://mimi.example.com/v1/updateConsent/{requesterUser}",
  "identifierQuery":
     "https://mimi.example.com/v1/identifierQuery/{domain}",
  "reportAbuse":
     "https://mimi.example.com/v1/reportAbuse/{roomId}",
  "proxyDownload"
     "https://mimi.example.com/v1/proxyDownload/{downloadUrl}"
}"#;

    #[test]
    fn draft_example_with_its_defects_parses() {
        let dir = Directory::parse(DRAFT_EXAMPLE.as_bytes()).expect("parses");
        assert_eq!(
            dir.proxy_download.as_deref(),
            Some("https://mimi.example.com/v1/proxyDownload/{downloadUrl}")
        );
        for e in Endpoint::ALL {
            assert!(dir.template(e).is_some(), "{e:?} missing");
        }
        // The missing `/` before `{roomId}` is supplied.
        assert_eq!(
            dir.url(Endpoint::Update, "a.example/r/clubhouse")
                .expect("url"),
            "https://mimi.example.com/v1/update/a.example/r/clubhouse"
        );
        assert_eq!(
            dir.url(Endpoint::Notify, "a.example/r/clubhouse")
                .expect("url"),
            "https://mimi.example.com/v1/notify/a.example/r/clubhouse"
        );
    }

    #[test]
    fn emitted_json_is_valid_and_round_trips() {
        let dir = Directory::for_base("https://mimi.a.example/v1/");
        let json = dir.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value["update"], "https://mimi.a.example/v1/update/{roomId}");
        assert_eq!(Directory::parse(json.as_bytes()).expect("parses"), dir);
    }

    #[test]
    fn colon_repair_leaves_strings_alone() {
        let text = r#"{"a": "x \" y", "b" "https://h/{p}"}"#;
        assert_eq!(
            insert_missing_colons(text),
            r#"{"a": "x \" y", "b" :"https://h/{p}"}"#
        );
    }

    #[test]
    fn rejects_bad_documents() {
        for (doc, why) in [
            (
                r#"{"update": "http://x/update/{roomId}"}"#.to_string(),
                "https",
            ),
            (
                r#"{"update": "https://x/update"}"#.to_string(),
                "placeholder",
            ),
            (r#"["https://x/{a}"]"#.to_string(), "JSON object"),
            ("not json".to_string(), "JSON object"),
            (
                format!(
                    "{{\"update\": \"https://x/{}{{roomId}}\"}}",
                    "a".repeat(MAX_DIRECTORY_LEN)
                ),
                "limit",
            ),
        ] {
            let err = Directory::parse(doc.as_bytes())
                .expect_err(&doc[..doc.len().min(40)])
                .to_string();
            assert!(err.contains(why), "{err} should mention {why}");
        }
    }

    #[test]
    fn missing_endpoint_is_a_clear_error() {
        let dir = Directory::parse(br#"{"notify": "https://x/notify/{roomId}"}"#).expect("parses");
        let err = dir
            .url(Endpoint::Update, "a.example/r/x")
            .expect_err("no update")
            .to_string();
        assert!(err.contains("no update endpoint"), "{err}");
    }
}
