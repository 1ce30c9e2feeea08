//! Places: ISO 3166-1 country codes, the EEA, the Art. 45 adequacy decisions with their dates,
//! and the Art. 8(1) age of digital consent by country.

use std::fmt;

use jiff::civil::{Date, date};

/// Every officially assigned ISO 3166-1 alpha-2 code.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH \
BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR \
GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR \
KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV \
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE \
RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL \
TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// The European Patent Organisation: the one international organisation with an adequacy
/// decision, accepted wherever a location is expected.
pub const EUROPEAN_PATENT_ORGANISATION: &str = "EPO";

/// A country outside the EEA that a document does not name ("outside the EEA"), from the
/// user-assigned range of ISO 3166-1. It never has an adequacy decision, so only a safeguard
/// covers it.
pub const UNNAMED_THIRD_COUNTRY: &str = "ZZ";

/// The EU-27 and Iceland, Liechtenstein and Norway.
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// A place where personal data is processed: an ISO 3166-1 alpha-2 country, or the European
/// Patent Organisation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Territory([u8; 3]);

impl std::str::FromStr for Territory {
    type Err = super::names::NameError;

    fn from_str(code: &str) -> Result<Territory, Self::Err> {
        Territory::parse(code).ok_or(super::names::NameError::Malformed(
            "must be an ISO 3166-1 alpha-2 country code (upper case), \"EPO\" or \"ZZ\"",
        ))
    }
}

impl Territory {
    /// Parses an upper-case ISO 3166-1 alpha-2 code or "EPO".
    pub fn parse(code: &str) -> Option<Territory> {
        if code == EUROPEAN_PATENT_ORGANISATION {
            return Some(Territory(*b"EPO"));
        }
        let bytes = code.as_bytes();
        if bytes.len() == 2
            && (code == UNNAMED_THIRD_COUNTRY
                || ISO_3166_ALPHA2.split(' ').any(|known| known == code))
        {
            return Some(Territory([bytes[0], bytes[1], b' ']));
        }
        None
    }

    pub fn code(&self) -> &str {
        let len = if self.0[2] == b' ' { 2 } else { 3 };
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0[..len]).unwrap_or("??")
    }

    /// Whether this is the territory `code` names. On the decision path: comparing bytes
    /// spares the UTF-8 check and the string comparison of `code() == code`.
    pub fn is(&self, code: &str) -> bool {
        match *code.as_bytes() {
            [first, second] => self.0 == [first, second, b' '],
            [first, second, third] => third != b' ' && self.0 == [first, second, third],
            _ => false,
        }
    }

    pub fn is_eea(&self) -> bool {
        EEA.iter().any(|code| self.is(code))
    }
}

super::serde_as_text!(
    Territory,
    |territory: &Territory| territory.code().to_owned(),
    Territory::parse
);

impl fmt::Display for Territory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Territory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Territory({})", self.code())
    }
}

/// Whom an adequacy decision covers in its territory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdequacyScope {
    /// Every recipient in the territory.
    Whole,
    /// Only commercial organisations subject to PIPEDA (Canada).
    CommercialOrganisations,
    /// Only organisations certified under the EU-US Data Privacy Framework.
    DpfCertified,
}

/// One Art. 45 adequacy decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adequacy {
    pub territory: &'static str,
    pub name: &'static str,
    pub decision: &'static str,
    pub valid_from: Date,
    /// Last day in force, where the decision is time-limited.
    pub valid_to: Option<Date>,
    pub scope: AdequacyScope,
}

impl Adequacy {
    pub fn in_force_on(&self, day: Date) -> bool {
        day >= self.valid_from && self.valid_to.is_none_or(|end| day <= end)
    }
}

/// The adequacy decisions in force or once in force, as data with their dates.
pub const ADEQUACY_DECISIONS: &[Adequacy] = &[
    adequacy(
        "CH",
        "Switzerland",
        "Decision 2000/518/EC",
        date(2000, 7, 26),
        None,
    ),
    Adequacy {
        scope: AdequacyScope::CommercialOrganisations,
        ..adequacy(
            "CA",
            "Canada (commercial organisations)",
            "Decision 2002/2/EC",
            date(2001, 12, 20),
            None,
        )
    },
    adequacy(
        "AR",
        "Argentina",
        "Decision 2003/490/EC",
        date(2003, 6, 30),
        None,
    ),
    adequacy(
        "GG",
        "Guernsey",
        "Decision 2003/821/EC",
        date(2003, 11, 21),
        None,
    ),
    adequacy(
        "IM",
        "Isle of Man",
        "Decision 2004/411/EC",
        date(2004, 4, 28),
        None,
    ),
    adequacy(
        "JE",
        "Jersey",
        "Decision 2008/393/EC",
        date(2008, 5, 8),
        None,
    ),
    adequacy(
        "FO",
        "Faroe Islands",
        "Decision 2010/146/EU",
        date(2010, 3, 5),
        None,
    ),
    adequacy(
        "AD",
        "Andorra",
        "Decision 2010/625/EU",
        date(2010, 10, 19),
        None,
    ),
    adequacy(
        "IL",
        "Israel",
        "Decision 2011/61/EU",
        date(2011, 1, 31),
        None,
    ),
    adequacy(
        "UY",
        "Uruguay",
        "Decision 2012/484/EU",
        date(2012, 8, 21),
        None,
    ),
    adequacy(
        "NZ",
        "New Zealand",
        "Decision 2013/65/EU",
        date(2012, 12, 19),
        None,
    ),
    adequacy(
        "JP",
        "Japan",
        "Decision (EU) 2019/419",
        date(2019, 1, 23),
        None,
    ),
    adequacy(
        "GB",
        "United Kingdom",
        "Decision (EU) 2021/1772, extended in June 2025",
        date(2021, 6, 28),
        Some(date(2025, 12, 27)),
    ),
    adequacy(
        "GB",
        "United Kingdom",
        "renewal of December 2025",
        date(2025, 12, 28),
        Some(date(2031, 12, 27)),
    ),
    adequacy(
        "KR",
        "Republic of Korea",
        "Decision (EU) 2022/254",
        date(2021, 12, 17),
        None,
    ),
    Adequacy {
        scope: AdequacyScope::DpfCertified,
        ..adequacy(
            "US",
            "United States (EU-US Data Privacy Framework)",
            "Decision (EU) 2023/1795",
            date(2023, 7, 10),
            None,
        )
    },
    adequacy(
        EUROPEAN_PATENT_ORGANISATION,
        "European Patent Organisation",
        "adequacy decision of 15 July 2025",
        date(2025, 7, 15),
        None,
    ),
    adequacy(
        "BR",
        "Brazil",
        "Decision (EU) 2026/179",
        date(2026, 1, 26),
        None,
    ),
];

const fn adequacy(
    territory: &'static str,
    name: &'static str,
    decision: &'static str,
    valid_from: Date,
    valid_to: Option<Date>,
) -> Adequacy {
    Adequacy {
        territory,
        name,
        decision,
        valid_from,
        valid_to,
        scope: AdequacyScope::Whole,
    }
}

/// The adequacy decision for `territory` in force on `day`, if any.
pub fn adequacy_on(territory: Territory, day: Date) -> Option<&'static Adequacy> {
    ADEQUACY_DECISIONS
        .iter()
        .find(|decision| territory.is(decision.territory) && decision.in_force_on(day))
}

/// A supervisory authority of the EEA (Art. 51), as the built-in table knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisoryAuthority {
    pub country: &'static str,
    pub name: &'static str,
    pub website: &'static str,
}

const fn authority(
    country: &'static str,
    name: &'static str,
    website: &'static str,
) -> SupervisoryAuthority {
    SupervisoryAuthority {
        country,
        name,
        website,
    }
}

/// One authority per EEA country: the national one. Germany's is the federal
/// commissioner; a German organisation's lead authority is usually its Land's, which a
/// manifest names in `organisation.supervisory_authority`. Names as the authorities write
/// them (in English where they publish one), from the EDPB's list of members.
const SUPERVISORY_AUTHORITIES: [SupervisoryAuthority; 30] = [
    authority(
        "AT",
        "Österreichische Datenschutzbehörde",
        "https://www.dsb.gv.at",
    ),
    authority(
        "BE",
        "Autorité de protection des données / Gegevensbeschermingsautoriteit",
        "https://www.dataprotectionauthority.be",
    ),
    authority(
        "BG",
        "Commission for Personal Data Protection",
        "https://www.cpdp.bg",
    ),
    authority(
        "CY",
        "Commissioner for Personal Data Protection",
        "https://www.dataprotection.gov.cy",
    ),
    authority(
        "CZ",
        "Úřad pro ochranu osobních údajů",
        "https://uoou.gov.cz",
    ),
    authority(
        "DE",
        "Die Bundesbeauftragte für den Datenschutz und die Informationsfreiheit",
        "https://www.bfdi.bund.de",
    ),
    authority("DK", "Datatilsynet", "https://www.datatilsynet.dk"),
    authority("EE", "Andmekaitse Inspektsioon", "https://www.aki.ee"),
    authority(
        "ES",
        "Agencia Española de Protección de Datos",
        "https://www.aepd.es",
    ),
    authority(
        "FI",
        "Tietosuojavaltuutetun toimisto",
        "https://tietosuoja.fi",
    ),
    authority(
        "FR",
        "Commission Nationale de l'Informatique et des Libertés",
        "https://www.cnil.fr",
    ),
    authority(
        "GR",
        "Hellenic Data Protection Authority",
        "https://www.dpa.gr",
    ),
    authority(
        "HR",
        "Agencija za zaštitu osobnih podataka",
        "https://azop.hr",
    ),
    authority(
        "HU",
        "Nemzeti Adatvédelmi és Információszabadság Hatóság",
        "https://www.naih.hu",
    ),
    authority(
        "IE",
        "Data Protection Commission",
        "https://www.dataprotection.ie",
    ),
    authority("IS", "Persónuvernd", "https://www.personuvernd.is"),
    authority(
        "IT",
        "Garante per la protezione dei dati personali",
        "https://www.garanteprivacy.it",
    ),
    authority(
        "LI",
        "Datenschutzstelle Liechtenstein",
        "https://www.datenschutzstelle.li",
    ),
    authority(
        "LT",
        "Valstybinė duomenų apsaugos inspekcija",
        "https://vdai.lrv.lt",
    ),
    authority(
        "LU",
        "Commission nationale pour la protection des données",
        "https://cnpd.public.lu",
    ),
    authority("LV", "Datu valsts inspekcija", "https://www.dvi.gov.lv"),
    authority(
        "MT",
        "Information and Data Protection Commissioner",
        "https://idpc.org.mt",
    ),
    authority(
        "NL",
        "Autoriteit Persoonsgegevens",
        "https://www.autoriteitpersoonsgegevens.nl",
    ),
    authority("NO", "Datatilsynet", "https://www.datatilsynet.no"),
    authority(
        "PL",
        "Urząd Ochrony Danych Osobowych",
        "https://uodo.gov.pl",
    ),
    authority(
        "PT",
        "Comissão Nacional de Proteção de Dados",
        "https://www.cnpd.pt",
    ),
    authority(
        "RO",
        "Autoritatea Națională de Supraveghere a Prelucrării Datelor cu Caracter Personal",
        "https://www.dataprotection.ro",
    ),
    authority("SE", "Integritetsskyddsmyndigheten", "https://www.imy.se"),
    authority("SI", "Informacijski pooblaščenec", "https://www.ip-rs.si"),
    authority(
        "SK",
        "Úrad na ochranu osobných údajov Slovenskej republiky",
        "https://dataprotection.gov.sk",
    ),
];

/// The supervisory authority of an EEA country; `None` outside the EEA, where an
/// organisation names its lead authority (or its representative's, Art. 27) itself.
pub fn supervisory_authority(country: Territory) -> Option<&'static SupervisoryAuthority> {
    SUPERVISORY_AUTHORITIES
        .iter()
        .find(|authority| country.is(authority.country))
}

/// The Art. 8(1) age below which consent to an information society service needs the holder
/// of parental responsibility, as set by each EEA country (16 where a country set none).
pub fn digital_consent_age(country: Territory) -> u8 {
    match country.code() {
        "BE" | "DK" | "EE" | "FI" | "LV" | "MT" | "PT" | "SE" | "NO" | "IS" => 13,
        "AT" | "BG" | "CY" | "ES" | "IT" | "LT" => 14,
        "CZ" | "FR" | "GR" | "SI" => 15,
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn territory(code: &str) -> Territory {
        Territory::parse(code).unwrap()
    }

    #[test]
    fn parses_only_assigned_codes() {
        assert!(Territory::parse("LV").is_some());
        assert!(Territory::parse("EPO").is_some());
        assert!(Territory::parse("XX").is_none());
        assert!(!Territory::parse("ZZ").unwrap().is_eea());
        assert!(adequacy_on(Territory::parse("ZZ").unwrap(), date(2026, 1, 1)).is_none());
        assert!(Territory::parse("lv").is_none());
        assert!(Territory::parse("").is_none());
        assert!(Territory::parse("LVA").is_none());
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 249);
    }

    #[test]
    fn is_agrees_with_code_for_every_territory() {
        let mut all: Vec<&str> = ISO_3166_ALPHA2.split(' ').collect();
        all.extend([UNNAMED_THIRD_COUNTRY, EUROPEAN_PATENT_ORGANISATION]);
        for code in &all {
            let place = territory(code);
            for other in &all {
                assert_eq!(place.is(other), place.code() == *other, "{code} {other}");
            }
            assert_eq!(place.is_eea(), EEA.contains(code), "{code}");
        }
        assert!(!territory("LV").is("LV "));
        assert!(!territory("LV").is(""));
    }

    #[test]
    fn every_eea_country_has_its_supervisory_authority() {
        for code in EEA {
            let country = Territory::parse(code).unwrap();
            let authority = supervisory_authority(country).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(authority.country, code);
            assert!(authority.website.starts_with("https://"), "{code}");
        }
        assert_eq!(
            supervisory_authority(Territory::parse("LV").unwrap())
                .unwrap()
                .name,
            "Datu valsts inspekcija"
        );
        assert!(supervisory_authority(Territory::parse("US").unwrap()).is_none());
    }

    #[test]
    fn eea_is_eu_27_and_three() {
        assert_eq!(EEA.len(), 30);
        for code in ["NO", "IS", "LI", "IE", "LV"] {
            assert!(territory(code).is_eea(), "{code}");
        }
        for code in ["CH", "GB", "US", "EPO"] {
            assert!(!territory(code).is_eea(), "{code}");
        }
    }

    #[test]
    fn adequacy_follows_its_dates() {
        let uk = territory("GB");
        assert!(adequacy_on(uk, date(2021, 6, 27)).is_none());
        assert!(adequacy_on(uk, date(2021, 6, 28)).is_some());
        assert!(adequacy_on(uk, date(2025, 12, 28)).is_some());
        assert!(adequacy_on(uk, date(2031, 12, 27)).is_some());
        assert!(adequacy_on(uk, date(2031, 12, 28)).is_none());
        let us = adequacy_on(territory("US"), date(2024, 1, 1)).unwrap();
        assert_eq!(us.scope, AdequacyScope::DpfCertified);
        assert!(adequacy_on(territory("US"), date(2023, 7, 9)).is_none());
        assert!(adequacy_on(territory("BR"), date(2025, 12, 31)).is_none());
        assert!(adequacy_on(territory("BR"), date(2026, 2, 1)).is_some());
        assert!(adequacy_on(territory("IN"), date(2026, 2, 1)).is_none());
    }

    #[test]
    fn consent_ages_match_the_design_table() {
        for (code, age) in [
            ("LV", 13),
            ("EE", 13),
            ("SE", 13),
            ("FI", 13),
            ("DK", 13),
            ("NO", 13),
            ("LT", 14),
            ("ES", 14),
            ("IT", 14),
            ("FR", 15),
            ("IE", 16),
            ("NL", 16),
            ("DE", 16),
            ("PL", 16),
        ] {
            assert_eq!(digital_consent_age(territory(code)), age, "{code}");
        }
    }
}
