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
    ordinary(
        "user.identity.national_id.passport",
        "Passport",
        "pd:Passport",
    ),
    // DPV-PD has no driving-licence term: its parent pd:OfficialID.
    ordinary(
        "user.identity.national_id.drivers_licence",
        "Driving licence",
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
    // "Vehical" is DPV-PD's own spelling of the term.
    ordinary(
        "user.identity.vehicle_registration",
        "Vehicle registration and licence plate",
        "pd:VehicalLicenseRegistration",
    ),
    // Age, gender and date of birth predate this key and stay under user.identity.
    ordinary("user.demographic", "Demographic data", "pd:Demographic"),
    ordinary(
        "user.demographic.language",
        "Spoken or preferred language",
        "pd:Language",
    ),
    ordinary(
        "user.demographic.marital_status",
        "Marital status",
        "pd:MaritalStatus",
    ),
    ordinary("user.family", "Family and relationships", "pd:Family"),
    ordinary(
        "user.family.children",
        "The subject's children and their details",
        "pd:Offspring",
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
        "user.financial.payments",
        "Payment transactions and their status",
        "pd:Transaction",
    ),
    ordinary(
        "user.financial.billing",
        "Billing details and invoices",
        "pd:Transaction",
    ),
    // DPV-PD has no invoice term: pd:Transaction, as for billing.
    ordinary(
        "user.financial.billing.invoices",
        "Invoices and receipts",
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
        "user.transactions.spending_habits",
        "Purchasing and spending habits",
        "pd:PurchasesAndSpendingHabit",
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
    // Behaviour observed outside user.online: the usage and browsing keys predate this one and stay
    // under user.online.
    ordinary(
        "user.behaviour",
        "Observed behaviour and activity",
        "pd:Behavioral",
    ),
    // DPV-PD has no search-history term: its parent pd:Behavioral.
    ordinary(
        "user.behaviour.search_history",
        "Search queries and search history",
        "pd:Behavioral",
    ),
    ordinary(
        "user.behaviour.media_consumption",
        "Content viewed, read, watched or listened to",
        "pd:ServiceConsumptionBehavior",
    ),
    // pd:LinkClicked names the clicks; DPV-PD has no term for opens.
    ordinary(
        "user.behaviour.engagement",
        "Opens and clicks of e-mails, notifications and ads",
        "pd:LinkClicked",
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
    ordinary(
        "user.location.travel_history",
        "Travel history and destinations",
        "pd:TravelHistory",
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
        "user.professional.education",
        "Education, qualifications and training",
        "pd:Education",
    ),
    ordinary(
        "user.professional.salary",
        "Salary and remuneration",
        "pd:Salary",
    ),
    ordinary(
        "user.professional.performance",
        "Performance at work and evaluations",
        "pd:PerformanceAtWork",
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
        "user.preferences.privacy",
        "Privacy and consent choices, including cookie consent",
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
        "dpv:SpecialCategoryPersonalData",
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

    /// The concepts of fideslang's data categories (ethyca/fideslang,
    /// data_files/data_categories.csv, its non-deprecated keys) and of W3C DPV-PD 2.0 that the
    /// default taxonomy covers, as (fideslang key or "-", DPV term, purposed key): the purposed key
    /// must exist with that DPV term. Left out on purpose: fideslang's `system.*` (not personal
    /// data), `user.children.*` (children are a kind of data subject, dpv:Child, not a category),
    /// the parts of `user.name` and `user.contact.address`, `user.contact.fax_number`,
    /// `user.device.sensor`/`telemetry` and the children of `user.health` and `user.content`.
    #[test]
    fn covers_fideslang_and_dpv_concepts() {
        const COVERAGE: &[(&str, &str, &str)] = &[
            // fideslang's top level.
            ("user", "dpv:PersonalData", "user"),
            ("user.account", "pd:Authenticating", "user.account"),
            ("user.authorization", "pd:Authenticating", "user.account"),
            ("user.behavior", "pd:Behavioral", "user.behaviour"),
            ("user.biometrics", "pd:Biometric", "user.special.biometric"),
            ("user.contact", "pd:Contact", "user.contact"),
            ("user.content", "pd:PersonalDocuments", "user.content"),
            ("user.criminal_history", "pd:Criminal", "user.criminal"),
            ("user.demographic", "pd:Demographic", "user.demographic"),
            ("user.device", "pd:DeviceBased", "user.device"),
            ("user.financial", "pd:Financial", "user.financial"),
            (
                "user.government_id",
                "pd:OfficialID",
                "user.identity.national_id",
            ),
            ("user.health", "pd:Health", "user.special.health"),
            ("user.location", "pd:Location", "user.location"),
            ("user.name", "pd:Name", "user.identity.name"),
            ("user.payment", "pd:Transaction", "user.financial.payments"),
            (
                "user.privacy_preferences",
                "pd:PrivacyPreference",
                "user.preferences.privacy",
            ),
            (
                "user.professional_information",
                "pd:Professional",
                "user.professional",
            ),
            (
                "user.settings",
                "pd:PrivacyPreference",
                "user.account.settings",
            ),
            (
                "user.social_activity",
                "pd:SocialMedia",
                "user.online.social_media",
            ),
            ("user.unique_id", "pd:Identifier", "user.account.identifier"),
            // fideslang's second level.
            (
                "user.account.username",
                "pd:Username",
                "user.identity.username",
            ),
            (
                "user.authorization.credentials",
                "pd:Password",
                "user.account.credentials",
            ),
            (
                "user.behavior.browsing_history",
                "pd:BrowsingBehavior",
                "user.online.browsing",
            ),
            (
                "user.behavior.media_consumption",
                "pd:ServiceConsumptionBehavior",
                "user.behaviour.media_consumption",
            ),
            (
                "user.behavior.purchase_history",
                "pd:Purchase",
                "user.transactions.orders",
            ),
            (
                "user.behavior.search_history",
                "pd:Behavioral",
                "user.behaviour.search_history",
            ),
            (
                "user.contact.address",
                "pd:PhysicalAddress",
                "user.contact.address",
            ),
            (
                "user.contact.email",
                "pd:EmailAddress",
                "user.contact.email",
            ),
            (
                "user.contact.phone_number",
                "pd:TelephoneNumber",
                "user.contact.phone",
            ),
            (
                "user.contact.social_url",
                "pd:SocialMedia",
                "user.online.social_media",
            ),
            ("user.content.self_image", "pd:Picture", "user.media.images"),
            ("user.demographic.age_range", "pd:Age", "user.identity.age"),
            (
                "user.demographic.citizenship_or_immigration_status",
                "pd:Nationality",
                "user.identity.nationality",
            ),
            (
                "user.demographic.date_of_birth",
                "pd:BirthDate",
                "user.identity.birth_date",
            ),
            (
                "user.demographic.gender",
                "pd:Gender",
                "user.identity.gender",
            ),
            (
                "user.demographic.language",
                "pd:Language",
                "user.demographic.language",
            ),
            (
                "user.demographic.marital_status",
                "pd:MaritalStatus",
                "user.demographic.marital_status",
            ),
            (
                "user.demographic.political_opinion",
                "pd:PoliticalOpinion",
                "user.special.political_opinions",
            ),
            (
                "user.demographic.profile",
                "pd:IndividualProfile",
                "user.profile",
            ),
            (
                "user.demographic.race_ethnicity",
                "pd:EthnicOrigin",
                "user.special.racial_ethnic_origin",
            ),
            (
                "user.demographic.religious_belief",
                "pd:ReligiousBelief",
                "user.special.beliefs",
            ),
            (
                "user.demographic.sexual_orientation",
                "pd:Sexual",
                "user.special.sex_life",
            ),
            (
                "user.demographic.union_membership",
                "pd:TradeUnionMembership",
                "user.special.trade_union",
            ),
            (
                "user.device.cookie_id",
                "pd:Identifier",
                "user.online.cookies",
            ),
            ("user.device.device_id", "pd:UID", "user.device.identifier"),
            (
                "user.device.ip_address",
                "pd:IPAddress",
                "user.online.ip_address",
            ),
            (
                "user.financial.bank_account",
                "pd:BankAccount",
                "user.financial.bank_account",
            ),
            (
                "user.financial.credit_card",
                "pd:PaymentCardNumber",
                "user.financial.payment_card",
            ),
            (
                "user.government_id.drivers_license_number",
                "pd:OfficialID",
                "user.identity.national_id.drivers_licence",
            ),
            (
                "user.government_id.national_identification_number",
                "pd:OfficialID",
                "user.identity.national_id",
            ),
            (
                "user.government_id.passport_number",
                "pd:Passport",
                "user.identity.national_id.passport",
            ),
            (
                "user.government_id.vehicle_registration",
                "pd:VehicalLicenseRegistration",
                "user.identity.vehicle_registration",
            ),
            ("user.health.genetic", "pd:Genetic", "user.special.genetic"),
            (
                "user.location.coarse",
                "pd:Location",
                "user.location.approximate",
            ),
            (
                "user.location.precise",
                "pd:GPSCoordinate",
                "user.location.precise",
            ),
            (
                "user.professional_information.job_title",
                "pd:Job",
                "user.professional.employer",
            ),
            (
                "user.professional_information.workplace",
                "pd:Job",
                "user.professional.employer",
            ),
            // DPV-PD concepts fideslang does not name.
            ("-", "pd:Transaction", "user.financial.billing.invoices"),
            (
                "-",
                "pd:PurchasesAndSpendingHabit",
                "user.transactions.spending_habits",
            ),
            ("-", "pd:LinkClicked", "user.behaviour.engagement"),
            ("-", "pd:Family", "user.family"),
            ("-", "pd:Offspring", "user.family.children"),
            ("-", "pd:TravelHistory", "user.location.travel_history"),
            ("-", "pd:Education", "user.professional.education"),
            ("-", "pd:Salary", "user.professional.salary"),
            ("-", "pd:PerformanceAtWork", "user.professional.performance"),
            ("-", "pd:EmploymentHistory", "user.professional.employment"),
            ("-", "pd:Opinion", "user.communication.feedback"),
            ("-", "pd:Interest", "user.preferences.interests"),
            // DPV core, not DPV-PD, defines the special categories.
            ("-", "dpv:SpecialCategoryPersonalData", "user.special"),
        ];
        for &(source, dpv, key) in COVERAGE {
            let category = builtin(key).unwrap_or_else(|| panic!("{source} -> {key}: no such key"));
            assert_eq!(category.dpv, dpv, "{source} -> {key}");
        }
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
