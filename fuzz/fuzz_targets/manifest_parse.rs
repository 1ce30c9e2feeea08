//! The manifest parser on arbitrary bytes (read as UTF-8, invalid sequences replaced), as
//! ApplyManifest receives it: `manifest::parse`, then what the service does with either
//! answer: the error's violations and gRPC status, or the compiled registry and its encoding
//! for the Registry service. Seeds: the example manifests (corpus/manifest_parse).
#![no_main]

use libfuzzer_sys::fuzz_target;
use purposed::{
    error::Error,
    grpc::encode::registry as encode,
    manifest::{self, ManifestError},
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    run(&text, manifest::DEFAULT_MAX_BYTES);
    // A limit below the size must refuse the manifest before reading it.
    if text.len() > 1 {
        let limit = text.len() - 1;
        assert!(matches!(
            manifest::parse(&text, limit),
            Err(ManifestError::TooLarge { .. })
        ));
    }
});

fn run(text: &str, limit: usize) {
    match manifest::parse(text, limit) {
        Err(error) => {
            // Every refusal names at least one problem, each with a place and a message.
            let violations = error.violations();
            assert!(!violations.is_empty(), "{error:?} names no problem");
            for violation in &violations {
                assert!(
                    !violation.path.is_empty(),
                    "{error:?}: a violation without a path"
                );
                assert!(
                    !violation.message.is_empty(),
                    "{error:?}: a violation without a message"
                );
            }
            let _ = error.to_string();
            purposed_fuzz::status(Error::from(error));
        }
        Ok(parsed) => {
            for warning in &parsed.warnings {
                let _ = warning.to_string();
            }
            let policy = purposed_fuzz::compile(parsed.registry, 1, purposed_fuzz::applied_at());
            // What GetOrganisation, ListPurposes, ListRegisteredRecipients and ListCategories
            // encode from a registry.
            let registry = policy.registry();
            let _ = encode::organisation(&registry.organisation, policy.info());
            for purpose in &registry.purposes {
                let _ = encode::purpose(purpose, "en".parse().ok());
            }
            for recipient in &registry.recipients {
                let _ = encode::recipient(recipient, "en".parse().ok());
            }
            for node in policy.categories() {
                let parent = node
                    .parent
                    .map(|parent| &policy.categories()[parent as usize]);
                let own = registry.categories.iter().find(|own| *own.key == *node.key);
                let _ = encode::category(node, parent, own, "en".parse().ok());
            }
        }
    }
}
