//! Consent and search.

use mimi_store::{ConsentRecord, ConsentState, Store};

use super::*;

fn consent(
    requester: &str,
    target: &str,
    room: Option<&str>,
    state: ConsentState,
    at: u64,
) -> ConsentRecord {
    ConsentRecord {
        requester_uri: user_uri(requester),
        target_uri: user_uri(target),
        room: room.map(str::to_string),
        state,
        updated_ms: at,
    }
}

/// Consent records per (requester, target, room), general ones apart; replaced on put.
pub async fn consent_records<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let (bob, alice) = (user_uri("bob"), user_uri("alice"));
    assert_eq!(s.consent(&bob, &alice, None).await.unwrap(), None);

    let general = consent("bob", "alice", None, ConsentState::Requested, 1);
    s.put_consent(&general).await.unwrap();
    let in_room = consent("bob", "alice", Some(&r), ConsentState::Granted, 2);
    s.put_consent(&in_room).await.unwrap();
    assert_eq!(s.consent(&bob, &alice, None).await.unwrap(), Some(general));
    assert_eq!(
        s.consent(&bob, &alice, Some(&r)).await.unwrap(),
        Some(in_room)
    );
    assert_eq!(s.consent(&alice, &bob, None).await.unwrap(), None);
    assert_eq!(
        s.consent(&bob, &alice, Some(&room("other"))).await.unwrap(),
        None
    );

    let granted = consent("bob", "alice", None, ConsentState::Granted, 3);
    s.put_consent(&granted).await.unwrap();
    assert_eq!(s.consent(&bob, &alice, None).await.unwrap(), Some(granted));
    let revoked = consent("bob", "alice", None, ConsentState::Revoked, 4);
    s.put_consent(&revoked).await.unwrap();
    assert_eq!(s.consent(&bob, &alice, None).await.unwrap(), Some(revoked));

    assert_err(
        s.put_consent(&consent("bob", "alice", Some(""), ConsentState::Granted, 5))
            .await,
        invalid,
    );
    for state in [
        ConsentState::Requested,
        ConsentState::Granted,
        ConsentState::Revoked,
    ] {
        assert_eq!(ConsentState::parse(state.as_str()), Some(state));
    }
}

/// A request is recorded unless the target answered; a cancel removes only a pending
/// request of exactly that scope.
pub async fn consent_requests<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let (bob, alice, carol) = (user_uri("bob"), user_uri("alice"), user_uri("carol"));
    let request = |requester: &str, room: Option<&str>, at| {
        // The state is ignored: a request is always recorded as `requested`.
        consent(requester, "alice", room, ConsentState::Granted, at)
    };

    assert!(s.request_consent(&request("bob", None, 1)).await.unwrap());
    assert_eq!(
        s.consent(&bob, &alice, None).await.unwrap(),
        Some(consent("bob", "alice", None, ConsentState::Requested, 1))
    );
    // A repeated request refreshes the time.
    assert!(s.request_consent(&request("bob", None, 2)).await.unwrap());
    assert_eq!(
        s.consent(&bob, &alice, None)
            .await
            .unwrap()
            .unwrap()
            .updated_ms,
        2
    );
    // Scopes are apart: a room request does not touch the general one.
    assert!(
        s.request_consent(&request("bob", Some(&r), 3))
            .await
            .unwrap()
    );
    assert_eq!(
        s.consent(&bob, &alice, None)
            .await
            .unwrap()
            .unwrap()
            .updated_ms,
        2
    );

    // An answered scope keeps its answer.
    s.put_consent(&consent("carol", "alice", None, ConsentState::Granted, 4))
        .await
        .unwrap();
    assert!(!s.request_consent(&request("carol", None, 5)).await.unwrap());
    s.put_consent(&consent("bob", "alice", Some(&r), ConsentState::Revoked, 6))
        .await
        .unwrap();
    assert!(
        !s.request_consent(&request("bob", Some(&r), 7))
            .await
            .unwrap()
    );
    assert_eq!(
        s.consent(&bob, &alice, Some(&r)).await.unwrap(),
        Some(consent("bob", "alice", Some(&r), ConsentState::Revoked, 6))
    );

    // Cancel: only a pending request of exactly this scope goes.
    assert!(
        !s.cancel_consent_request(&bob, &alice, Some(&room("other")))
            .await
            .unwrap()
    );
    assert!(
        !s.cancel_consent_request(&bob, &alice, Some(&r))
            .await
            .unwrap()
    );
    assert!(
        !s.cancel_consent_request(&carol, &alice, None)
            .await
            .unwrap()
    );
    assert_eq!(
        s.consent(&carol, &alice, None)
            .await
            .unwrap()
            .unwrap()
            .state,
        ConsentState::Granted
    );
    assert!(s.cancel_consent_request(&bob, &alice, None).await.unwrap());
    assert_eq!(s.consent(&bob, &alice, None).await.unwrap(), None);
    assert!(!s.cancel_consent_request(&bob, &alice, None).await.unwrap());

    assert_err(
        s.request_consent(&request("bob", Some(""), 8)).await,
        invalid,
    );
    assert_err(
        s.cancel_consent_request(&bob, &alice, Some("")).await,
        invalid,
    );
}

fn ids(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Exact identifier search finds only searchable users; handles are unique; a put replaces
/// the set.
pub async fn identifier_search<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    for name in ["alice", "bob", "carol"] {
        s.create_user(&new_user(name)).await.unwrap();
    }
    let (alice, bob, carol) = (user_uri("alice"), user_uri("bob"), user_uri("carol"));
    s.put_identifiers(
        &alice,
        &ids(&[
            ("handle", "@alice"),
            ("email", "alice@a.example"),
            ("phone", "+15551234"),
        ]),
        true,
    )
    .await
    .unwrap();
    s.put_identifiers(
        &bob,
        &ids(&[("handle", "@bob"), ("phone", "+15551234")]),
        true,
    )
    .await
    .unwrap();
    s.put_identifiers(
        &carol,
        &ids(&[("handle", "@carol"), ("email", "carol@a.example")]),
        false,
    )
    .await
    .unwrap();

    assert_eq!(
        s.find_users("handle", "@alice").await.unwrap(),
        vec![alice.clone()]
    );
    assert_eq!(
        s.find_users("email", "alice@a.example").await.unwrap(),
        vec![alice.clone()]
    );
    // A shared phone number finds both.
    assert_eq!(
        s.find_users("phone", "+15551234").await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );
    // Not searchable: not found.
    assert!(s.find_users("handle", "@carol").await.unwrap().is_empty());
    // Exact: kind and value must both match.
    assert!(s.find_users("email", "@alice").await.unwrap().is_empty());
    assert!(s.find_users("handle", "@Alice").await.unwrap().is_empty());
    assert!(s.user_by_uri(&alice).await.unwrap().unwrap().searchable);
    assert!(!s.user_by_uri(&carol).await.unwrap().unwrap().searchable);

    // A handle names one user; a refused put changes nothing.
    assert_err(
        s.put_identifiers(&bob, &ids(&[("handle", "@alice")]), true)
            .await,
        conflict,
    );
    assert_eq!(
        s.find_users("handle", "@bob").await.unwrap(),
        vec![bob.clone()]
    );
    assert_err(
        s.put_identifiers(&user_uri("nobody"), &ids(&[]), true)
            .await,
        not_found,
    );
    assert_err(
        s.put_identifiers(&bob, &ids(&[("handle", "")]), true).await,
        invalid,
    );

    // Replace: the old identifiers go; duplicates in the input are harmless.
    s.put_identifiers(
        &alice,
        &ids(&[("handle", "@alice2"), ("handle", "@alice2")]),
        true,
    )
    .await
    .unwrap();
    assert!(s.find_users("handle", "@alice").await.unwrap().is_empty());
    assert_eq!(
        s.find_users("handle", "@alice2").await.unwrap(),
        vec![alice.clone()]
    );
    assert_eq!(
        s.find_users("phone", "+15551234").await.unwrap(),
        vec![bob.clone()]
    );
    // The freed handle can be taken.
    s.put_identifiers(&bob, &ids(&[("handle", "@alice")]), true)
        .await
        .unwrap();
    assert_eq!(s.find_users("handle", "@alice").await.unwrap(), vec![bob]);
}

/// Substring search over display names and nicks, case-insensitive, searchable users only.
pub async fn name_search<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let mut elodie = new_user("elodie");
    elodie.display_name = "Élodie Durand".into();
    s.create_user(&elodie).await.unwrap();
    let mut bob = new_user("bob");
    bob.display_name = "Robert".into();
    s.create_user(&bob).await.unwrap();
    let mut hidden = new_user("hidden");
    hidden.display_name = "Élodie Hidden".into();
    s.create_user(&hidden).await.unwrap();
    let mut pct = new_user("pct");
    pct.display_name = "100% real_name".into();
    s.create_user(&pct).await.unwrap();
    s.put_identifiers(&user_uri("elodie"), &[], true)
        .await
        .unwrap();
    s.put_identifiers(&user_uri("bob"), &ids(&[("nick", "BobbyTables")]), true)
        .await
        .unwrap();
    s.put_identifiers(&user_uri("hidden"), &[], false)
        .await
        .unwrap();
    s.put_identifiers(&user_uri("pct"), &[], true)
        .await
        .unwrap();

    assert_eq!(
        s.find_users_by_name("éLO", 10).await.unwrap(),
        vec![user_uri("elodie")]
    );
    assert_eq!(
        s.find_users_by_name("durand", 10).await.unwrap(),
        vec![user_uri("elodie")]
    );
    assert_eq!(
        s.find_users_by_name("tables", 10).await.unwrap(),
        vec![user_uri("bob")]
    );
    assert_eq!(
        s.find_users_by_name("rob", 10).await.unwrap(),
        vec![user_uri("bob")]
    );
    let both = s.find_users_by_name("e", 10).await.unwrap();
    assert_eq!(
        both,
        vec![user_uri("bob"), user_uri("elodie"), user_uri("pct")]
    );
    assert_eq!(
        s.find_users_by_name("e", 2).await.unwrap(),
        both[..2].to_vec()
    );
    // Literal match: no wildcards.
    assert_eq!(
        s.find_users_by_name("%", 10).await.unwrap(),
        vec![user_uri("pct")]
    );
    assert!(s.find_users_by_name("_x", 10).await.unwrap().is_empty());
    assert!(s.find_users_by_name("hidden", 10).await.unwrap().is_empty());
    assert!(s.find_users_by_name("", 10).await.unwrap().is_empty());
    assert!(s.find_users_by_name("e", 0).await.unwrap().is_empty());
}

/// Peer client CAs are kept per domain, replaced on put, listed sorted; empty ones refused.
pub async fn peer_cas<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    assert!(s.peer_cas().await.unwrap().is_empty());
    s.put_peer_ca("c.example", "PEM-C1", 1).await.unwrap();
    s.put_peer_ca("b.example", "PEM-B", 2).await.unwrap();
    s.put_peer_ca("c.example", "PEM-C2", 3).await.unwrap();
    assert_eq!(
        s.peer_cas().await.unwrap(),
        vec![
            ("b.example".to_string(), "PEM-B".to_string()),
            ("c.example".to_string(), "PEM-C2".to_string()),
        ]
    );
    assert!(s.put_peer_ca("", "PEM", 4).await.is_err());
    assert!(s.put_peer_ca("d.example", "", 4).await.is_err());
    assert_eq!(s.peer_cas().await.unwrap().len(), 2);
}

/// Abuse reports (protocol-06 §5.9): stored with what they say, listed per room oldest first,
/// and refused when they name no room, reporter or abuser.
pub async fn abuse_reports<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let report = |room: &str, n: u8| mimi_store::AbuseReportRecord {
        id: 0,
        room: room.to_string(),
        reporter_domain: "b.example".into(),
        reporting_user: n
            .is_multiple_of(2)
            .then(|| "mimi://b.example/u/bob".to_string()),
        alleged_abuser: "mimi://c.example/u/cathy".into(),
        reason_code: n,
        report: vec![n; 8],
        received_ms: 1_000 + u64::from(n),
    };
    let one = "mimi://a.example/r/one";
    let first = s.record_abuse_report(&report(one, 0)).await.unwrap();
    let second = s.record_abuse_report(&report(one, 1)).await.unwrap();
    s.record_abuse_report(&report("mimi://a.example/r/two", 2))
        .await
        .unwrap();
    assert!(second > first);
    let listed = s.abuse_reports(one, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0],
        mimi_store::AbuseReportRecord {
            id: first,
            ..report(one, 0)
        }
    );
    assert_eq!(listed[1].reporting_user, None);
    assert_eq!(s.abuse_reports(one, 1).await.unwrap().len(), 1);
    let mut bad = report(one, 3);
    bad.alleged_abuser.clear();
    assert!(matches!(
        s.record_abuse_report(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(s.abuse_reports(one, 10).await.unwrap().len(), 2);
}
