//! Deadlines of rights requests: Art. 12(3) GDPR counted as Regulation 1182/71 art. 3 counts
//! periods in months, with the public holidays of the organisation's country.
//!
//! A period of months ends on the day with the same number as the day it started, or the
//! month's last day where that day does not exist (31 Jan + 1 month = 28/29 Feb); a period
//! ending on a Saturday, Sunday or public holiday ends on the next working day.

use jiff::{
    ToSpan,
    civil::{Date, Weekday, date},
    tz::TimeZone,
};

use super::geo::Territory;

/// Countries whose public holidays are known here. Elsewhere only weekends are skipped.
pub const HOLIDAY_CALENDARS: [&str; 9] = ["LV", "EE", "LT", "NO", "FI", "SE", "DK", "DE", "PL"];

/// Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm, as published by
/// Meeus).
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // Euclidean division keeps every remainder non-negative for years before 1 as well, so
    // month is 3 or 4 and day 1-31 by construction.
    date(year, month as i8, day as i8)
}

fn easter_offset(day: Date, offsets: &[i64]) -> bool {
    let easter = easter_sunday(day.year());
    offsets.iter().any(|&offset| {
        easter
            .checked_add(offset.days())
            .is_ok_and(|holiday| holiday == day)
    })
}

fn fixed(day: Date, dates: &[(i8, i8)]) -> bool {
    dates.contains(&(day.month(), day.day()))
}

/// The `weekday` that falls between the two days of the year, both included.
fn weekday_between(day: Date, weekday: Weekday, from: (i8, i8), to: (i8, i8)) -> bool {
    day.weekday() == weekday && (day.month(), day.day()) >= from && (day.month(), day.day()) <= to
}

/// Finland and Sweden: Midsummer Eve (the Friday of 19-25 June), Midsummer Day (the Saturday
/// after) and All Saints' Day (the Saturday of 31 October - 6 November).
fn nordic_midsummer_and_all_saints(day: Date) -> bool {
    weekday_between(day, Weekday::Friday, (6, 19), (6, 25))
        || weekday_between(day, Weekday::Saturday, (6, 20), (6, 26))
        || weekday_between(day, Weekday::Saturday, (10, 31), (11, 6))
}

const MAUNDY_THURSDAY: i64 = -3;
const GOOD_FRIDAY: i64 = -2;
const EASTER_SUNDAY: i64 = 0;
const EASTER_MONDAY: i64 = 1;
const GREAT_PRAYER_DAY: i64 = 26;
const ASCENSION: i64 = 39;
const WHIT_SUNDAY: i64 = 49;
const WHIT_MONDAY: i64 = 50;
const CORPUS_CHRISTI: i64 = 60;
/// The Easter cycle Norway and Denmark keep alike: Maundy Thursday to Whit Monday.
const NORDIC_EASTER: [i64; 7] = [
    MAUNDY_THURSDAY,
    GOOD_FRIDAY,
    EASTER_SUNDAY,
    EASTER_MONDAY,
    ASCENSION,
    WHIT_SUNDAY,
    WHIT_MONDAY,
];

/// Whether `day` is a public holiday of `country` (or a day its law on time limits treats as
/// one). `None` when no calendar is known for the country.
pub fn is_public_holiday(country: Territory, day: Date) -> Option<bool> {
    let holiday = match country.code() {
        "LV" => {
            // Restoration of Independence (4 May) and Proclamation Day (18 November) move to
            // the next Monday when they fall on a weekend.
            let moved = |month, number| {
                day.weekday() == Weekday::Monday
                    && [1_i64, 2].iter().any(|back| {
                        day.checked_sub(back.days()).is_ok_and(|earlier| {
                            (earlier.month(), earlier.day()) == (month, number)
                                && matches!(earlier.weekday(), Weekday::Saturday | Weekday::Sunday)
                        })
                    })
            };
            fixed(
                day,
                &[
                    (1, 1),
                    (5, 1),
                    (5, 4),
                    (6, 23),
                    (6, 24),
                    (11, 18),
                    (12, 24),
                    (12, 25),
                    (12, 26),
                    (12, 31),
                ],
            ) || easter_offset(
                day,
                &[GOOD_FRIDAY, EASTER_SUNDAY, EASTER_MONDAY, WHIT_SUNDAY],
            ) || moved(5, 4)
                || moved(11, 18)
        }
        "EE" => {
            fixed(
                day,
                &[
                    (1, 1),
                    (2, 24),
                    (5, 1),
                    (6, 23),
                    (6, 24),
                    (8, 20),
                    (12, 24),
                    (12, 25),
                    (12, 26),
                ],
            ) || easter_offset(day, &[GOOD_FRIDAY, EASTER_SUNDAY, WHIT_SUNDAY])
        }
        "LT" => {
            fixed(
                day,
                &[(1, 1), (2, 16), (3, 11), (5, 1), (6, 24), (7, 6), (8, 15), (11, 1), (11, 2), (12, 24), (12, 25), (12, 26)],
            ) || easter_offset(day, &[EASTER_SUNDAY, EASTER_MONDAY])
                // Mother's Day and Father's Day: the first Sundays of May and June.
                || weekday_between(day, Weekday::Sunday, (5, 1), (5, 7))
                || weekday_between(day, Weekday::Sunday, (6, 1), (6, 7))
        }
        "NO" => {
            fixed(day, &[(1, 1), (5, 1), (5, 17), (12, 25), (12, 26)])
                || easter_offset(day, &NORDIC_EASTER)
        }
        "FI" => {
            // The Act on the Calculation of Statutory Time Limits (150/1930) also counts
            // Midsummer Eve and Christmas Eve out.
            fixed(
                day,
                &[
                    (1, 1),
                    (1, 6),
                    (5, 1),
                    (12, 6),
                    (12, 24),
                    (12, 25),
                    (12, 26),
                ],
            ) || easter_offset(
                day,
                &[
                    GOOD_FRIDAY,
                    EASTER_SUNDAY,
                    EASTER_MONDAY,
                    ASCENSION,
                    WHIT_SUNDAY,
                ],
            ) || nordic_midsummer_and_all_saints(day)
        }
        "SE" => {
            // The Time Limits Act (1930:173) also counts Midsummer Eve, Christmas Eve and New
            // Year's Eve out.
            fixed(
                day,
                &[
                    (1, 1),
                    (1, 6),
                    (5, 1),
                    (6, 6),
                    (12, 24),
                    (12, 25),
                    (12, 26),
                    (12, 31),
                ],
            ) || easter_offset(
                day,
                &[
                    GOOD_FRIDAY,
                    EASTER_SUNDAY,
                    EASTER_MONDAY,
                    ASCENSION,
                    WHIT_SUNDAY,
                ],
            ) || nordic_midsummer_and_all_saints(day)
        }
        "DK" => {
            // Great Prayer Day was abolished from 2024.
            fixed(day, &[(1, 1), (12, 25), (12, 26)])
                || easter_offset(day, &NORDIC_EASTER)
                || (day.year() <= 2023 && easter_offset(day, &[GREAT_PRAYER_DAY]))
        }
        "DE" => {
            // Nationwide holidays only; each Land adds its own.
            fixed(day, &[(1, 1), (5, 1), (10, 3), (12, 25), (12, 26)])
                || easter_offset(day, &[GOOD_FRIDAY, EASTER_MONDAY, ASCENSION, WHIT_MONDAY])
        }
        "PL" => {
            // Christmas Eve is a public holiday from 2025.
            fixed(
                day,
                &[
                    (1, 1),
                    (1, 6),
                    (5, 1),
                    (5, 3),
                    (8, 15),
                    (11, 1),
                    (11, 11),
                    (12, 25),
                    (12, 26),
                ],
            ) || (day.year() >= 2025 && fixed(day, &[(12, 24)]))
                || easter_offset(
                    day,
                    &[EASTER_SUNDAY, EASTER_MONDAY, WHIT_SUNDAY, CORPUS_CHRISTI],
                )
        }
        _ => return None,
    };
    Some(holiday)
}

pub fn is_working_day(country: Territory, day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
        && !is_public_holiday(country, day).unwrap_or(false)
}

/// `day` itself if it is a working day, else the next one.
pub fn working_day_on_or_after(country: Territory, day: Date) -> Date {
    let mut candidate = day;
    // At most a few days in a row are ever non-working; the bound keeps a bad table harmless.
    for _ in 0..31 {
        if is_working_day(country, candidate) {
            return candidate;
        }
        match candidate.tomorrow() {
            Ok(next) => candidate = next,
            Err(_) => return candidate,
        }
    }
    candidate
}

/// The last day of a period of `months` months starting on `start`, moved to a working day.
pub fn deadline(country: Territory, start: Date, months: i8) -> Date {
    // jiff clamps to the end of a shorter month, as art. 3(2)(c) of 1182/71 requires.
    let end = start
        .checked_add(i64::from(months).months())
        .unwrap_or(start);
    working_day_on_or_after(country, end)
}

/// The organisation's local time zone: receipt times become calendar dates there.
pub fn time_zone(country: Territory) -> TimeZone {
    let name = match country.code() {
        "AT" => "Europe/Vienna",
        "BE" => "Europe/Brussels",
        "BG" => "Europe/Sofia",
        "HR" => "Europe/Zagreb",
        "CY" => "Asia/Nicosia",
        "CZ" => "Europe/Prague",
        "DK" => "Europe/Copenhagen",
        "EE" => "Europe/Tallinn",
        "FI" => "Europe/Helsinki",
        "FR" => "Europe/Paris",
        "DE" => "Europe/Berlin",
        "GR" => "Europe/Athens",
        "HU" => "Europe/Budapest",
        "IE" => "Europe/Dublin",
        "IT" => "Europe/Rome",
        "LV" => "Europe/Riga",
        "LT" => "Europe/Vilnius",
        "LU" => "Europe/Luxembourg",
        "MT" => "Europe/Malta",
        "NL" => "Europe/Amsterdam",
        "PL" => "Europe/Warsaw",
        "PT" => "Europe/Lisbon",
        "RO" => "Europe/Bucharest",
        "SK" => "Europe/Bratislava",
        "SI" => "Europe/Ljubljana",
        "ES" => "Europe/Madrid",
        "SE" => "Europe/Stockholm",
        "IS" => "Atlantic/Reykjavik",
        "LI" => "Europe/Vaduz",
        "NO" => "Europe/Oslo",
        "CH" => "Europe/Zurich",
        "GB" => "Europe/London",
        _ => return TimeZone::UTC,
    };
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// The calendar date of an instant in the organisation's country.
pub fn local_date(country: Territory, at: jiff::Timestamp) -> Date {
    at.to_zoned_datetime(time_zone(country)).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn territory(code: &str) -> Territory {
        Territory::parse(code).unwrap()
    }

    #[test]
    fn easter_matches_the_published_dates() {
        for (year, month, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), date(year, month, day), "{year}");
        }
    }

    #[test]
    fn easter_is_a_spring_sunday_in_every_year_jiff_holds() {
        // Years before 1 once produced impossible dates (a fuzzer found -9962-02-30).
        for year in jiff::civil::Date::MIN.year()..=jiff::civil::Date::MAX.year() {
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sunday, "{year}");
            assert!(
                (date(year, 3, 22)..=date(year, 4, 25)).contains(&easter),
                "{year}: {easter}"
            );
        }
    }

    #[test]
    fn deadlines_are_total_in_every_calendar_country() {
        for code in HOLIDAY_CALENDARS {
            let country = territory(code);
            for start in [date(-9999, 1, 1), date(-2, 2, 1), date(9999, 1, 4)] {
                assert!(deadline(country, start, 1) > start, "{code} {start}");
            }
        }
    }

    #[test]
    fn the_design_examples() {
        let lv = territory("LV");
        // 5 Mar -> 5 Apr (2026-04-05 is Easter Sunday, 04-06 Easter Monday: the 7th).
        assert_eq!(deadline(lv, date(2026, 3, 5), 1), date(2026, 4, 7));
        assert_eq!(deadline(lv, date(2027, 3, 5), 1), date(2027, 4, 5));
        // 31 Jan -> the end of February (a Saturday in 2026: the next Monday).
        assert_eq!(deadline(lv, date(2026, 1, 31), 1), date(2026, 3, 2));
        assert_eq!(deadline(lv, date(2028, 1, 31), 1), date(2028, 2, 29));
    }

    #[test]
    fn latvian_holidays_move_off_weekends() {
        let lv = territory("LV");
        // 4 May 2025 was a Sunday: Monday 5 May was off.
        assert_eq!(is_public_holiday(lv, date(2025, 5, 5)), Some(true));
        // 18 November 2028 is a Saturday: Monday 20 November is off.
        assert_eq!(is_public_holiday(lv, date(2028, 11, 20)), Some(true));
        assert_eq!(is_public_holiday(lv, date(2026, 5, 5)), Some(false));
    }

    #[test]
    fn countries_without_a_calendar_skip_weekends_only() {
        let us = territory("US");
        assert_eq!(is_public_holiday(us, date(2026, 12, 25)), None);
        assert!(is_working_day(us, date(2026, 12, 25)));
        assert!(!is_working_day(us, date(2026, 12, 26)));
    }

    #[test]
    fn local_dates_follow_the_country() {
        let at: jiff::Timestamp = "2026-03-04T23:30:00Z".parse().unwrap();
        assert_eq!(local_date(territory("LV"), at), date(2026, 3, 5));
        assert_eq!(local_date(territory("US"), at), date(2026, 3, 4));
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod deadline_tests;
