//! Every receipt date of 2026 and 2027 in four countries, each deadline checked against a
//! second calculation written here from scratch: its own day arithmetic (days from the civil
//! calendar), its own month-end rule, and the public holidays typed in from the published
//! calendars rather than derived from Easter.

use super::*;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil(days_since_epoch: i64) -> Day {
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// A year, month and day.
type Day = (i32, u32, u32);

/// The countries checked, with their typed-in holidays.
const COUNTRIES: [(&str, &[Day]); 4] = [("LV", LV), ("NO", NO), ("PL", PL), ("DE", DE)];

fn leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn month_length(year: i32, month: u32) -> u32 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 1970-01-01 was a Thursday: 0 = Monday ... 6 = Sunday.
fn weekday(days_since_epoch: i64) -> i64 {
    (days_since_epoch + 3).rem_euclid(7)
}

const LV: &[Day] = &[
    (2026, 1, 1),
    (2026, 4, 3),
    (2026, 4, 5),
    (2026, 4, 6),
    (2026, 5, 1),
    (2026, 5, 4),
    (2026, 5, 24),
    (2026, 6, 23),
    (2026, 6, 24),
    (2026, 11, 18),
    (2026, 12, 24),
    (2026, 12, 25),
    (2026, 12, 26),
    (2026, 12, 31),
    (2027, 1, 1),
    (2027, 3, 26),
    (2027, 3, 28),
    (2027, 3, 29),
    (2027, 5, 1),
    (2027, 5, 4),
    (2027, 5, 16),
    (2027, 6, 23),
    (2027, 6, 24),
    (2027, 11, 18),
    (2027, 12, 24),
    (2027, 12, 25),
    (2027, 12, 26),
    (2027, 12, 31),
    (2028, 1, 1),
];

const NO: &[Day] = &[
    (2026, 1, 1),
    (2026, 4, 2),
    (2026, 4, 3),
    (2026, 4, 5),
    (2026, 4, 6),
    (2026, 5, 1),
    (2026, 5, 14),
    (2026, 5, 17),
    (2026, 5, 24),
    (2026, 5, 25),
    (2026, 12, 25),
    (2026, 12, 26),
    (2027, 1, 1),
    (2027, 3, 25),
    (2027, 3, 26),
    (2027, 3, 28),
    (2027, 3, 29),
    (2027, 5, 1),
    (2027, 5, 6),
    (2027, 5, 16),
    (2027, 5, 17),
    (2027, 12, 25),
    (2027, 12, 26),
    (2028, 1, 1),
];

const PL: &[Day] = &[
    (2026, 1, 1),
    (2026, 1, 6),
    (2026, 4, 5),
    (2026, 4, 6),
    (2026, 5, 1),
    (2026, 5, 3),
    (2026, 5, 24),
    (2026, 6, 4),
    (2026, 8, 15),
    (2026, 11, 1),
    (2026, 11, 11),
    (2026, 12, 24),
    (2026, 12, 25),
    (2026, 12, 26),
    (2027, 1, 1),
    (2027, 1, 6),
    (2027, 3, 28),
    (2027, 3, 29),
    (2027, 5, 1),
    (2027, 5, 3),
    (2027, 5, 16),
    (2027, 5, 27),
    (2027, 8, 15),
    (2027, 11, 1),
    (2027, 11, 11),
    (2027, 12, 24),
    (2027, 12, 25),
    (2027, 12, 26),
    (2028, 1, 1),
    (2028, 1, 6),
];

const DE: &[Day] = &[
    (2026, 1, 1),
    (2026, 4, 3),
    (2026, 4, 6),
    (2026, 5, 1),
    (2026, 5, 14),
    (2026, 5, 25),
    (2026, 10, 3),
    (2026, 12, 25),
    (2026, 12, 26),
    (2027, 1, 1),
    (2027, 3, 26),
    (2027, 3, 29),
    (2027, 5, 1),
    (2027, 5, 6),
    (2027, 5, 17),
    (2027, 10, 3),
    (2027, 12, 25),
    (2027, 12, 26),
    (2028, 1, 1),
];

/// The second calculation: the same day number `months` later (or that month's last day),
/// then forward past weekends and the typed-in holidays.
fn expected_deadline(
    holidays: &[(i32, u32, u32)],
    (year, month, day): (i32, u32, u32),
    months: u32,
) -> (i32, u32, u32) {
    let index = year * 12 + (month as i32 - 1) + months as i32;
    let (end_year, end_month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    let end_day = day.min(month_length(end_year, end_month));
    let mut candidate = days(end_year, end_month, end_day);
    while weekday(candidate) >= 5 || holidays.contains(&civil(candidate)) {
        candidate += 1;
    }
    civil(candidate)
}

#[test]
fn every_receipt_date_of_2026_and_2027_matches_the_second_calculation() {
    let (first, last) = (days(2026, 1, 1), days(2027, 12, 31));
    let mut checked = 0;
    for (code, holidays) in COUNTRIES {
        let country = Territory::parse(code).unwrap();
        for day in first..=last {
            let (year, month, number) = civil(day);
            let received = date(year as i16, month as i8, number as i8);
            // One month, and the longest extension (three months in all).
            for months in [1, 3] {
                let (y, m, d) = expected_deadline(holidays, (year, month, number), months);
                let expected = date(y as i16, m as i8, d as i8);
                assert_eq!(
                    deadline(country, received, months as i8),
                    expected,
                    "{code}: received {received}, {months} month(s)"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 730 * 2);
}

#[test]
fn the_typed_in_holidays_are_the_computed_ones() {
    // The other direction: every computed holiday of 2026-2027 is in the typed-in lists.
    for (code, holidays) in COUNTRIES {
        let country = Territory::parse(code).unwrap();
        for day in days(2026, 1, 1)..=days(2027, 12, 31) {
            let (year, month, number) = civil(day);
            let computed = is_public_holiday(country, date(year as i16, month as i8, number as i8))
                == Some(true);
            let typed = holidays.contains(&(year, month, number));
            // Both include the holidays that fall on weekends, so they agree day by day.
            assert_eq!(computed, typed, "{code} {year}-{month:02}-{number:02}");
        }
    }
}

#[test]
fn the_independent_arithmetic_is_sound() {
    assert_eq!(days(1970, 1, 1), 0);
    assert_eq!(civil(days(2028, 2, 29)), (2028, 2, 29));
    assert_eq!(
        weekday(days(2026, 11, 23)),
        0,
        "23 November 2026 is a Monday"
    );
    assert_eq!(expected_deadline(&[], (2026, 1, 31), 1), (2026, 3, 2));
}
