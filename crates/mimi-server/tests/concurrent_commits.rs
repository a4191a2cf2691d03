//! Two followers commit for the same epoch at the same time, many times over (issue 7): the
//! hub accepts exactly one commit per epoch (protocol-06 §5.3: the first valid commit for an
//! epoch wins, later ones get `wrongEpoch`), the loser's client drops its commit when the
//! winner's arrives and keeps working, and every client and the hub end at the same epoch.

mod support;

use mimi_types::wire::UpdateOutcome;
use support::{assert_in_sync, three_party};

/// Rounds of the race; each advances the epoch by exactly one.
const ROUNDS: u64 = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_commit_wins_each_epoch_and_the_loser_recovers() {
    let (mut net, room) = three_party().await;
    let b = net.provider("b.example").clone();
    let c = net.provider("c.example").clone();
    let start = net.client("alice").epoch(&room).expect("epoch");
    let a = net.provider("a.example").clone();
    let hub_seq = |a: std::sync::Arc<mimi_server::provider::Provider<mimi_store::AnyStore>>,
                   room: String| async move {
        use mimi_store::Store;
        a.store
            .hub_room(&room)
            .await
            .expect("store")
            .expect("hosted room")
            .seq
    };
    let seq_before = hub_seq(a.clone(), room.to_string()).await;
    let (mut bob_wins, mut cathy_wins) = (0u64, 0u64);

    for round in 0..ROUNDS {
        let epoch = net.client("bob").epoch(&room).expect("epoch");
        assert_eq!(epoch, start + round);
        // Both build a commit on the same epoch before either is sent.
        let from_bob = net
            .client("bob")
            .commit_pending(&room)
            .expect("bob's commit");
        let from_cathy = net
            .client("cathy")
            .commit_pending(&room)
            .expect("cathy's commit");
        let (to_b, to_c) = (b.clone(), c.clone());
        let (room_b, room_c) = (room.clone(), room.clone());
        let (bob_said, cathy_said) = tokio::join!(
            tokio::spawn(async move { to_b.client_update(&room_b, &from_bob).await }),
            tokio::spawn(async move { to_c.client_update(&room_c, &from_cathy).await }),
        );
        let bob_said = bob_said.expect("task").expect("bob's update answered");
        let cathy_said = cathy_said.expect("task").expect("cathy's update answered");
        let won = |o: &UpdateOutcome| matches!(o, UpdateOutcome::Success { .. });
        match (won(&bob_said.outcome), won(&cathy_said.outcome)) {
            (true, false) => bob_wins += 1,
            (false, true) => cathy_wins += 1,
            other => panic!(
                "round {round}: exactly one commit must win, got {other:?}: {:?} / {:?}",
                bob_said.outcome, cathy_said.outcome
            ),
        }
        let loser = if won(&bob_said.outcome) {
            &cathy_said.outcome
        } else {
            &bob_said.outcome
        };
        assert!(
            matches!(loser, UpdateOutcome::WrongEpoch { current_epoch } if *current_epoch == epoch + 1),
            "round {round}: the loser is told the new epoch: {loser:?}"
        );
        // The winner's commit reaches everyone; the loser's client drops its own.
        net.pump(&room).await;
        assert_in_sync(&net, &room, &["alice", "bob", "cathy"]);
        assert_eq!(
            net.client("alice").epoch(&room).expect("epoch"),
            epoch + 1,
            "round {round}: one epoch per round"
        );
    }
    assert_eq!(bob_wins + cathy_wins, ROUNDS);

    // The hub accepted exactly one event per round: no commit was accepted twice or lost.
    assert_eq!(
        hub_seq(a.clone(), room.to_string()).await,
        seq_before + ROUNDS
    );

    // Both followers still talk: a message from each reaches everyone once.
    for (i, name) in ["bob", "cathy"].into_iter().enumerate() {
        let text = format!("after the race, {name}");
        let request = net
            .client(name)
            .send_text(&room, [200 + i as u8; 16], &text, None)
            .expect("send");
        let p = net.provider_of(name);
        p.client_submit(&room, &request).await.expect("submit");
    }
    net.pump(&room).await;
    for name in ["alice", "bob", "cathy"] {
        let texts = net.texts(name);
        for from in ["bob", "cathy"] {
            let want = format!("after the race, {from}");
            let seen = texts.iter().filter(|t| **t == want).count();
            // A sender does not see its own message in fanout.
            let expected = usize::from(name != from);
            assert_eq!(seen, expected, "{name} sees {want:?} {seen} times");
        }
    }
    println!("{ROUNDS} rounds: bob won {bob_wins}, cathy won {cathy_wins}");
}
