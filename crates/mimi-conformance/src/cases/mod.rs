//! The cases, grouped by endpoint and flow. IDs are stable: a new case gets a new number,
//! a retired one keeps its number unused.

use std::future::Future;
use std::pin::Pin;

use crate::ctx::{Check, Ctx};

mod directory;
mod directory_services;
mod fanout;
mod follower;
mod hub;
mod key_material;
mod malformed;
mod proxy;
mod transport;

/// A running case.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Check> + 'a>>;

/// One conformance case.
pub struct Case {
    /// Stable ID, e.g. `KM-03`.
    pub id: &'static str,
    /// The draft and section it checks.
    pub section: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// The check.
    pub run: for<'a> fn(&'a Ctx) -> CaseFuture<'a>,
}

/// Declare a case: `case!("ID", "section", "title", async_fn)`.
macro_rules! case {
    ($id:literal, $section:literal, $title:literal, $f:expr) => {
        $crate::cases::Case {
            id: $id,
            section: $section,
            title: $title,
            run: |cx| Box::pin($f(cx)),
        }
    };
}
pub(crate) use case;

/// Every case, in run order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(transport::cases());
    v.extend(directory::cases());
    v.extend(malformed::cases());
    v.extend(key_material::cases());
    v.extend(hub::cases());
    v.extend(fanout::cases());
    v.extend(follower::cases());
    v.extend(directory_services::cases());
    v.extend(proxy::cases());
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_well_formed() {
        let cases = super::all();
        let mut seen = std::collections::BTreeSet::new();
        for c in &cases {
            assert!(seen.insert(c.id), "duplicate case ID {}", c.id);
            let (group, number) = c.id.split_once('-').expect("GROUP-NN");
            assert!(group.chars().all(|ch| ch.is_ascii_uppercase()), "{}", c.id);
            assert!(number.chars().all(|ch| ch.is_ascii_digit()), "{}", c.id);
            assert!(c.section.contains('§'), "{} cites no section", c.id);
        }
    }
}
