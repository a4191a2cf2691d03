//! Every protocol-06 / room-policy-03 body decoder on arbitrary bytes. The first byte picks
//! the decoder; the rest is the body. Anything that decodes must re-encode to exactly the
//! input (there is one encoding per value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimi_types::wire::*;

fn check<T: WireMessage>(body: &[u8]) {
    if let Ok(value) = T::decode(body) {
        let again = value.encode().expect("a decoded value encodes");
        assert_eq!(again, body, "{} re-encodes differently", T::NAME);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 20 {
        0 => check::<KeyMaterialRequest>(body),
        1 => check::<KeyMaterialResponse>(body),
        2 => check::<UpdateRequest>(body),
        3 => check::<UpdateRoomResponse>(body),
        4 => check::<SubmitMessageRequest>(body),
        5 => check::<SubmitMessageResponse>(body),
        6 => {
            if let Ok(batch) = FanoutMessage::decode_batch(body, DEFAULT_MAX_BODY) {
                assert_eq!(FanoutMessage::encode_batch(&batch).expect("encodes"), body);
            }
        }
        7 => check::<GroupInfoRequest>(body),
        8 => check::<GroupInfoResponse>(body),
        9 => check::<ConsentEntry>(body),
        10 => check::<IdentifierRequest>(body),
        11 => check::<IdentifierResponse>(body),
        12 => check::<AbuseReport>(body),
        13 => check::<PseudonymousCredential>(body),
        14 => check::<ParticipantListData>(body),
        15 => check::<ParticipantListUpdate>(body),
        16 => check::<RoomMetaData>(body),
        17 => {
            if let Some((&id, rest)) = body.split_first() {
                let id = 0x20 + u16::from(id % 0x11);
                if let Ok(Some(update)) = RoomComponentUpdate::decode(id, rest) {
                    assert_eq!(update.encode().expect("encodes"), rest);
                }
                if let Ok(Some(data)) = RoomComponentData::decode(id, rest) {
                    assert_eq!(data.encode().expect("encodes"), rest);
                }
            }
        }
        18 => {
            let _ = Directory::parse(body);
        }
        _ => {
            let _ = MlsMessage::from_bytes(body.to_vec());
        }
    }
});
