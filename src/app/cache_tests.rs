use proptest::prelude::*;

use super::*;
use crate::domain::pseudonym::SubjectKey;

fn key() -> SubjectKey {
    SubjectKey::from_hex(&"5e".repeat(32)).expect("a valid key")
}

fn instant() -> impl Strategy<Value = Timestamp> {
    // From year -9999 to 9999, at any nanosecond (jiff's whole range).
    (-377_705_116_800_i64..=253_402_207_200, 0..1_000_000_000_i32).prop_map(|(seconds, nanos)| {
        Timestamp::new(seconds, if seconds == 253_402_207_200 { 0 } else { nanos })
            .expect("in range")
    })
}

fn purpose() -> impl Strategy<Value = Arc<str>> {
    prop::sample::select(vec!["newsletter", "analytics", "orders", "support-chat"])
        .prop_map(Arc::from)
}

fn free_text() -> impl Strategy<Value = Arc<str>> {
    "\\PC{0,40}".prop_map(|text| Arc::from(text.as_str()))
}

fn consent() -> impl Strategy<Value = ConsentEvent> {
    (
        purpose(),
        any::<bool>(),
        instant(),
        prop::option::of(free_text()),
        any::<bool>(),
    )
        .prop_map(
            |(purpose, withdraw, at, notice_version, parental)| ConsentEvent {
                purpose,
                action: if withdraw {
                    ConsentAction::Withdraw
                } else {
                    ConsentAction::Grant
                },
                at,
                notice_version,
                parental,
            },
        )
}

fn objection() -> impl Strategy<Value = Objection> {
    (
        prop::option::of(purpose()),
        instant(),
        prop::option::of(free_text()),
        prop::option::of(instant()),
    )
        .prop_map(
            |(purpose, at, compelling_grounds, withdrawn_at)| Objection {
                scope: purpose.map_or(ObjectionScope::DirectMarketing, ObjectionScope::Purpose),
                at,
                compelling_grounds,
                withdrawn_at,
            },
        )
}

fn birth() -> impl Strategy<Value = Birth> {
    prop_oneof![
        (-9999_i16..=9999).prop_map(Birth::Year),
        (-9999_i16..=9999, 1_i8..=12, 1_i8..=28)
            .prop_map(|(year, month, day)| Birth::Date(jiff::civil::date(year, month, day))),
    ]
}

fn state() -> impl Strategy<Value = SubjectState> {
    (
        prop::collection::vec(consent(), 0..5),
        prop::collection::vec(objection(), 0..4),
        prop::collection::vec(
            (instant(), prop::option::of(instant()))
                .prop_map(|(from, lifted_at)| Restriction { from, lifted_at }),
            0..3,
        ),
        prop::option::of(instant().prop_map(|verified_at| Erasure { verified_at })),
        prop::option::of(birth()),
    )
        .prop_map(
            |(consents, objections, restrictions, erasure, birth)| SubjectState {
                consents,
                objections,
                restrictions,
                erasure,
                birth,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_state_reads_back_as_it_was_put(state in state(), organisation in "[a-z]{1,12}") {
        let cache = SubjectCache::default();
        let subject = key().pseudonymise(&organisation, &"alice".parse().unwrap());
        cache.put(&organisation, subject, &state);
        let read = cache.get(&organisation, subject).expect("decodes");
        if state.is_empty() {
            prop_assert_eq!(read, None);
        } else {
            prop_assert_eq!(read, Some(state));
        }
    }

    #[test]
    fn no_byte_string_panics_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let purposes: Vec<Arc<str>> = vec![Arc::from("newsletter")];
        let _either = decode(&bytes, &purposes);
    }
}

#[test]
fn another_organisation_does_not_see_the_state() {
    let cache = SubjectCache::default();
    let subject = key().pseudonymise("shop", &"alice".parse().unwrap());
    let state = SubjectState {
        erasure: Some(Erasure {
            verified_at: Timestamp::UNIX_EPOCH,
        }),
        ..SubjectState::default()
    };
    cache.put("shop", subject, &state);
    cache.put(
        "bank",
        key().pseudonymise("bank", &"bob".parse().unwrap()),
        &state,
    );
    assert_eq!(cache.get("shop", subject).expect("decodes"), Some(state));
    assert_eq!(cache.get("bank", subject).expect("decodes"), None);
    assert_eq!(cache.get("nobody", subject).expect("decodes"), None);
}

#[test]
fn an_emptied_state_leaves_the_cache() {
    let cache = SubjectCache::default();
    let subject = key().pseudonymise("shop", &"alice".parse().unwrap());
    cache
        .update("shop", subject, |state| {
            state.birth = Some(Birth::Year(1990))
        })
        .expect("decodes");
    assert_eq!(cache.len(), 1);
    cache
        .update("shop", subject, |state| state.birth = None)
        .expect("decodes");
    assert!(cache.is_empty());
}

#[test]
fn a_one_consent_subject_takes_a_few_bytes() {
    let state = SubjectState {
        consents: vec![ConsentEvent {
            purpose: Arc::from("newsletter"),
            action: ConsentAction::Grant,
            at: "2026-01-01T00:00:00Z".parse().expect("timestamp"),
            notice_version: None,
            parental: false,
        }],
        ..SubjectState::default()
    };
    let encoded = encode(&state, |_| 0);
    assert!(encoded.len() <= 12, "{} bytes", encoded.len());
    let purposes = vec![Arc::from("newsletter")];
    assert_eq!(decode(&encoded, &purposes).expect("decodes"), state);
    // Every shorter prefix is refused, not misread.
    for cut in 0..encoded.len() {
        assert!(
            decode(&encoded[..cut], &purposes).is_err(),
            "prefix of {cut}"
        );
    }
}

#[test]
fn short_states_live_in_the_entry_and_long_ones_on_the_heap() {
    assert_eq!(std::mem::size_of::<Encoded>(), 24);
    for length in [0, 1, INLINE, INLINE + 1, 300] {
        let bytes: Vec<u8> = (0..length).map(|byte| byte as u8).collect();
        let encoded = Encoded::new(&bytes);
        assert_eq!(encoded.bytes(), bytes.as_slice());
        assert_eq!(
            matches!(encoded, Encoded::Inline { .. }),
            length <= INLINE,
            "{length} bytes"
        );
    }
}
