//! Results: one line per case for people, JUnit XML for CI systems.

use std::fmt::Write as _;
use std::time::Duration;

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The target did what the draft requires.
    Pass,
    /// It did not; why.
    Fail(String),
    /// The case could not run; why (a missing driver, a draft gap).
    Skip(String),
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Stable ID, e.g. `KM-03`.
    pub id: &'static str,
    /// The draft section it checks.
    pub section: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// Outcome.
    pub verdict: Verdict,
    /// How long it took.
    pub elapsed: Duration,
}

/// Every case's result, in run order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The results.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// Count of (passed, failed, skipped).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in &self.results {
            match r.verdict {
                Verdict::Pass => c.0 += 1,
                Verdict::Fail(_) => c.1 += 1,
                Verdict::Skip(_) => c.2 += 1,
            }
        }
        c
    }

    /// True when no case failed.
    pub fn ok(&self) -> bool {
        self.counts().1 == 0
    }

    /// One line for a result.
    pub fn line(r: &CaseResult) -> String {
        let (word, why) = match &r.verdict {
            Verdict::Pass => ("PASS", String::new()),
            Verdict::Fail(w) => ("FAIL", format!(": {w}")),
            Verdict::Skip(w) => ("SKIP", format!(": {w}")),
        };
        format!(
            "{word} {:<7} {:<24} {}{why} ({} ms)",
            r.id,
            r.section,
            r.title,
            r.elapsed.as_millis()
        )
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        let (p, f, s) = self.counts();
        format!(
            "{} cases: {p} passed, {f} failed, {s} skipped",
            self.results.len()
        )
    }

    /// JUnit XML (one `testsuite`, a `testcase` per case; failures and skips as elements).
    pub fn junit(&self, suite: &str) -> String {
        let (_, f, s) = self.counts();
        let total: f64 = self.results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{s}\" time=\"{total:.3}\">",
            escape(suite),
            self.results.len()
        );
        for r in &self.results {
            let _ = write!(
                x,
                "  <testcase classname=\"{}\" name=\"{} {}\" time=\"{:.3}\"",
                escape(r.section),
                escape(r.id),
                escape(r.title),
                r.elapsed.as_secs_f64()
            );
            match &r.verdict {
                Verdict::Pass => x.push_str("/>\n"),
                Verdict::Fail(why) => {
                    let _ = write!(
                        x,
                        ">\n    <failure message=\"{}\"/>\n  </testcase>\n",
                        escape(why)
                    );
                }
                Verdict::Skip(why) => {
                    let _ = write!(
                        x,
                        ">\n    <skipped message=\"{}\"/>\n  </testcase>\n",
                        escape(why)
                    );
                }
            }
        }
        x.push_str("</testsuite>\n");
        x
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_and_counts() {
        let report = Report {
            results: vec![
                CaseResult {
                    id: "T-1",
                    section: "§4.1",
                    title: "a <b>",
                    verdict: Verdict::Pass,
                    elapsed: Duration::from_millis(5),
                },
                CaseResult {
                    id: "T-2",
                    section: "§4.1",
                    title: "c",
                    verdict: Verdict::Fail("got \"403\" & more".into()),
                    elapsed: Duration::ZERO,
                },
                CaseResult {
                    id: "T-3",
                    section: "§5.2",
                    title: "d",
                    verdict: Verdict::Skip("no driver".into()),
                    elapsed: Duration::ZERO,
                },
            ],
        };
        assert_eq!(report.counts(), (1, 1, 1));
        assert!(!report.ok());
        let x = report.junit("mimi");
        assert!(x.contains("tests=\"3\" failures=\"1\" skipped=\"1\""));
        assert!(x.contains("a &lt;b&gt;"));
        assert!(x.contains("got &quot;403&quot; &amp; more"));
        assert!(x.contains("<skipped message=\"no driver\"/>"));
        assert!(Report::line(&report.results[1]).starts_with("FAIL T-2"));
    }
}
