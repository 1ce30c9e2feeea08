//! Data categories: the built-in default taxonomy with its Art. 9 and Art. 10 flags, and the
//! hierarchy of dotted keys (declaring a parent covers its children, never the reverse).

/// How the GDPR treats a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sensitivity {
    Ordinary,
    /// A special category of Art. 9(1).
    Special,
    /// Personal data relating to criminal convictions and offences (Art. 10).
    Criminal,
}

spelled!(Sensitivity {
    Ordinary => "ordinary",
    Special => "special",
    Criminal => "criminal",
});

/// A category of the built-in taxonomy.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinCategory {
    pub key: &'static str,
    pub name: &'static str,
    pub sensitivity: Sensitivity,
    /// The W3C DPV personal-data term it maps to.
    pub dpv: &'static str,
}

const fn ordinary(key: &'static str, name: &'static str, dpv: &'static str) -> BuiltinCategory {
    BuiltinCategory {
        key,
        name,
        sensitivity: Sensitivity::Ordinary,
        dpv,
    }
}

const fn special(key: &'static str, name: &'static str, dpv: &'static str) -> BuiltinCategory {
    BuiltinCategory {
        key,
        name,
        sensitivity: Sensitivity::Special,
        dpv,
    }
}

const fn criminal(key: &'static str, name: &'static str, dpv: &'static str) -> BuiltinCategory {
    BuiltinCategory {
        key,
        name,
        sensitivity: Sensitivity::Criminal,
        dpv,
    }
}

/// The default taxonomy. Every key's parent is its dotted prefix and precedes it here.
pub const DEFAULT_TAXONOMY: &[BuiltinCategory] = &[
    ordinary(
        "user",
        "All personal data about the data subject",
        "dpv:PersonalData",
    ),
    ordinary("user.identity", "Identifying data", "pd:Identifying"),
    ordinary("user.identity.name", "Name or nickname", "pd:Name"),
    ordinary("user.identity.username", "Username", "pd:Username"),
    ordinary(
        "user.identity.national_id",
        "National identification number or official ID",
        "pd:OfficialID",
    ),
    ordinary("user.identity.birth_date", "Date of birth", "pd:BirthDate"),
    ordinary("user.identity.age", "Age or age range", "pd:Age"),
    ordinary("user.identity.gender", "Gender", "pd:Gender"),
    ordinary(
        "user.identity.nationality",
        "Nationality or citizenship",
        "pd:Nationality",
    ),
    ordinary("user.contact", "Contact data", "pd:Contact"),
    ordinary("user.contact.email", "E-mail address", "pd:EmailAddress"),
    ordinary(
        "user.contact.phone",
        "Telephone number",
        "pd:TelephoneNumber",
    ),
    ordinary(
        "user.contact.address",
        "Postal address",
        "pd:PhysicalAddress",
    ),
    ordinary("user.account", "Account data", "pd:Authenticating"),
    ordinary(
        "user.account.identifier",
        "Account identifier",
        "pd:Identifier",
    ),
    ordinary(
        "user.account.credentials",
        "Password hash and other credentials",
        "pd:Password",
    ),
    ordinary(
        "user.account.settings",
        "Account settings and preferences",
        "pd:PrivacyPreference",
    ),
    ordinary("user.financial", "Financial data", "pd:Financial"),
    ordinary(
        "user.financial.payment_card",
        "Payment card data",
        "pd:PaymentCardNumber",
    ),
    ordinary(
        "user.financial.bank_account",
        "Bank account",
        "pd:BankAccount",
    ),
    ordinary(
        "user.financial.billing",
        "Billing details and invoices",
        "pd:Transaction",
    ),
    ordinary(
        "user.financial.credit",
        "Creditworthiness",
        "pd:CreditWorthiness",
    ),
    ordinary(
        "user.transactions",
        "Purchases and transactions",
        "pd:Transactional",
    ),
    ordinary("user.transactions.orders", "Order history", "pd:Purchase"),
    ordinary(
        "user.transactions.delivery",
        "Delivery details",
        "pd:PhysicalAddress",
    ),
    ordinary(
        "user.communication",
        "Communications with the subject",
        "pd:Communication",
    ),
    ordinary(
        "user.communication.messages",
        "Messages, requests and e-mails",
        "pd:EmailContent",
    ),
    ordinary(
        "user.communication.support",
        "Customer support conversations",
        "pd:Communication",
    ),
    ordinary(
        "user.communication.feedback",
        "Feedback, reviews and opinions",
        "pd:Opinion",
    ),
    ordinary(
        "user.communication.call_recordings",
        "Recordings of calls",
        "pd:VoiceCommunicationRecording",
    ),
    ordinary("user.device", "Device data", "pd:DeviceBased"),
    ordinary(
        "user.device.identifier",
        "Device or push-notification identifier",
        "pd:UID",
    ),
    ordinary(
        "user.device.model",
        "Device model and hardware",
        "pd:DeviceBased",
    ),
    ordinary(
        "user.device.browser",
        "Browser type, version and plug-ins",
        "pd:UserAgent",
    ),
    ordinary(
        "user.device.os",
        "Operating system and platform",
        "pd:DeviceOperatingSystem",
    ),
    ordinary(
        "user.online",
        "Online identifiers and activity",
        "pd:Tracking",
    ),
    ordinary("user.online.ip_address", "IP address", "pd:IPAddress"),
    ordinary(
        "user.online.cookies",
        "Cookie and similar identifiers",
        "pd:Identifier",
    ),
    ordinary(
        "user.online.logs",
        "Server and access logs",
        "pd:AuthenticationHistory",
    ),
    ordinary(
        "user.online.usage",
        "Use of the service: clicks, page views, events",
        "pd:ServiceConsumptionBehavior",
    ),
    ordinary(
        "user.online.browsing",
        "Browsing behaviour and referrals",
        "pd:BrowsingBehavior",
    ),
    ordinary(
        "user.online.social_media",
        "Social media account data",
        "pd:SocialMedia",
    ),
    ordinary("user.location", "Location", "pd:Location"),
    ordinary(
        "user.location.approximate",
        "Country, city or region",
        "pd:Location",
    ),
    ordinary(
        "user.location.precise",
        "Precise location (GPS)",
        "pd:GPSCoordinate",
    ),
    ordinary("user.media", "Pictures, video and sound", "pd:Picture"),
    ordinary("user.media.images", "Photographs and images", "pd:Picture"),
    ordinary(
        "user.media.video",
        "Video recordings, including CCTV",
        "pd:Picture",
    ),
    ordinary(
        "user.media.voice",
        "Voice recordings",
        "pd:VoiceCommunicationRecording",
    ),
    ordinary("user.professional", "Professional data", "pd:Professional"),
    ordinary(
        "user.professional.employer",
        "Employer and position",
        "pd:Job",
    ),
    ordinary(
        "user.professional.employment",
        "Employment history and HR records",
        "pd:EmploymentHistory",
    ),
    ordinary(
        "user.preferences",
        "Preferences and interests",
        "pd:Preference",
    ),
    ordinary(
        "user.preferences.interests",
        "Interests and likes",
        "pd:Interest",
    ),
    ordinary(
        "user.preferences.marketing",
        "Marketing preferences",
        "pd:PrivacyPreference",
    ),
    ordinary(
        "user.profile",
        "Profile and self-description",
        "pd:IndividualProfile",
    ),
    ordinary(
        "user.profile.inferred",
        "Inferred profile and segments",
        "pd:IndividualProfile",
    ),
    ordinary(
        "user.content",
        "Content the subject creates or uploads",
        "pd:PersonalDocuments",
    ),
    special(
        "user.special",
        "Special categories of personal data (Art. 9(1))",
        "pd:SpecialCategoryPersonalData",
    ),
    special(
        "user.special.racial_ethnic_origin",
        "Racial or ethnic origin",
        "pd:EthnicOrigin",
    ),
    special(
        "user.special.political_opinions",
        "Political opinions",
        "pd:PoliticalOpinion",
    ),
    special(
        "user.special.beliefs",
        "Religious or philosophical beliefs",
        "pd:ReligiousBelief",
    ),
    special(
        "user.special.trade_union",
        "Trade-union membership",
        "pd:TradeUnionMembership",
    ),
    special("user.special.genetic", "Genetic data", "pd:Genetic"),
    special(
        "user.special.biometric",
        "Biometric data for uniquely identifying a person",
        "pd:Biometric",
    ),
    special("user.special.health", "Data concerning health", "pd:Health"),
    special(
        "user.special.sex_life",
        "Sex life or sexual orientation",
        "pd:Sexual",
    ),
    criminal(
        "user.criminal",
        "Criminal convictions and offences (Art. 10)",
        "pd:Criminal",
    ),
    criminal(
        "user.criminal.convictions",
        "Criminal convictions",
        "pd:CriminalConviction",
    ),
    criminal(
        "user.criminal.offences",
        "Criminal offences and charges",
        "pd:CriminalOffense",
    ),
];

/// The parent of a dotted key: everything before its last dot.
pub fn parent_key(key: &str) -> Option<&str> {
    key.rfind('.').map(|dot| &key[..dot])
}

/// Whether `key` is a well-formed category key: dot-separated segments of lower-case ASCII
/// letters, digits, `_` and `-`, each starting with a letter, at most 8 deep and 200 long.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.split('.').count() <= MAX_DEPTH
        && key.split('.').all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_lowercase())
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
}

/// Deepest category hierarchy accepted.
pub const MAX_DEPTH: usize = 8;

/// Whether `ancestor` is `key` itself or one of its ancestors.
pub fn covers(ancestor: &str, key: &str) -> bool {
    key == ancestor
        || (key.len() > ancestor.len()
            && key.starts_with(ancestor)
            && key.as_bytes()[ancestor.len()] == b'.')
}

pub fn builtin(key: &str) -> Option<&'static BuiltinCategory> {
    DEFAULT_TAXONOMY.iter().find(|category| category.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_is_a_well_formed_tree() {
        let mut seen = std::collections::HashSet::new();
        for category in DEFAULT_TAXONOMY {
            assert!(is_valid_key(category.key), "{}", category.key);
            assert!(seen.insert(category.key), "duplicate {}", category.key);
            if let Some(parent) = parent_key(category.key) {
                assert!(seen.contains(parent), "{} before its parent", category.key);
                let parent = builtin(parent).unwrap();
                assert!(
                    parent.sensitivity == Sensitivity::Ordinary
                        || parent.sensitivity == category.sensitivity,
                    "{} weaker than its parent",
                    category.key
                );
            }
            assert!(category.dpv.starts_with("pd:") || category.dpv.starts_with("dpv:"));
        }
    }

    #[test]
    fn every_article_9_and_10_category_is_flagged() {
        let special: Vec<_> = DEFAULT_TAXONOMY
            .iter()
            .filter(|c| c.sensitivity == Sensitivity::Special)
            .map(|c| c.key)
            .collect();
        for key in [
            "user.special.racial_ethnic_origin",
            "user.special.political_opinions",
            "user.special.beliefs",
            "user.special.trade_union",
            "user.special.genetic",
            "user.special.biometric",
            "user.special.health",
            "user.special.sex_life",
        ] {
            assert!(special.contains(&key), "{key}");
        }
        assert_eq!(
            builtin("user.criminal").unwrap().sensitivity,
            Sensitivity::Criminal
        );
    }

    #[test]
    fn a_parent_covers_its_children_only() {
        assert!(covers("user.contact", "user.contact.email"));
        assert!(covers("user.contact", "user.contact"));
        assert!(!covers("user.contact.email", "user.contact"));
        assert!(!covers("user.contact", "user.contacts"));
        assert!(!covers("user.contact", "user.identity.name"));
    }

    #[test]
    fn rejects_malformed_keys() {
        for key in [
            "",
            "User",
            "user..email",
            ".user",
            "user.",
            "user.1x",
            "user email",
        ] {
            assert!(!is_valid_key(key), "{key:?}");
        }
        assert!(is_valid_key("peero.images_2"));
        assert!(!is_valid_key("a.b.c.d.e.f.g.h.i"));
    }
}
