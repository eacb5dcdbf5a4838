//! Display formatting of money and percentages for the UI (exact decimals, grouped digits).

use rust_decimal::Decimal;

/// `USD 1,234,567.89`: rounded half away from zero to cents, digits grouped in threes.
pub fn money(currency: &str, value: Decimal) -> String {
    let rounded =
        value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{currency} {sign}{grouped}.{cents}")
}

/// `+1.23%` from a fraction.
pub fn percent(fraction: f64) -> String {
    format!("{:+.2}%", fraction * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_rounded_to_the_cent() {
        let cases = [
            ("512345678.125", "USD 512,345,678.13"),
            ("-1234.5", "USD -1,234.50"),
            ("0", "USD 0.00"),
            ("999.999", "USD 1,000.00"),
            ("-0.001", "USD 0.00"),
            ("100", "USD 100.00"),
        ];
        for (input, want) in cases {
            assert_eq!(money("USD", input.parse().unwrap()), want, "{input}");
        }
    }

    #[test]
    fn percent_has_a_sign() {
        assert_eq!(percent(0.01234), "+1.23%");
        assert_eq!(percent(-0.5), "-50.00%");
    }
}
