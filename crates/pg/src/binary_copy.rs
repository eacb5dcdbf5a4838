//! Postgres' binary `COPY` output, decoded as it streams and written as the CSV Postgres itself
//! would have sent (byte for byte, with `TimeZone = 'UTC'` and `DateStyle = ISO`).
//!
//! Why not ask Postgres for CSV: turning every value into text is most of what a `COPY` costs
//! the server (prices' 1.2 M rows: 2.2 s as CSV, 1.1 s binary, measured with `psql \copy`),
//! and the server is the shared, busier side. Decoding the binary rows here costs the laptop
//! less than that, and the local loader keeps reading the CSV it always read.
//!
//! The format (PostgreSQL docs, "COPY", "Binary Format"): an 11-byte signature, a flags word,
//! a header extension; then per row a 16-bit field count and per field a 32-bit length (-1 for
//! NULL) and that many bytes; a field count of -1 ends the data. All big-endian. The `SELECT`
//! casts each column to exactly the type [`Field`] names, so each field's layout is known.
//!
//! A delta's stream carries one more column, NULL in every row but one: a row of NULLs whose
//! last field is Postgres' checksum of the rows, computed by the same statement
//! ([`CsvTranscoder::with_summary`] keeps it out of the CSV and hands it back).

/// How one column arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `uuid`: 16 bytes.
    Uuid,
    /// `text`: the bytes as stored (the server encoding, UTF-8).
    Text,
    /// `date`: days since 2000-01-01 as a 32-bit integer.
    Date,
    /// `numeric`: base-10000 digits with a weight, a sign and a display scale.
    Numeric,
    /// `int8`.
    Int8,
    /// `bool`: one byte, written `true`/`false` (as `bool::text` reads).
    Bool,
    /// `timestamptz`: microseconds since 2000-01-01 00:00 UTC as a 64-bit integer.
    Timestamptz,
}

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Signature, flags, header extension length.
const HEADER_LEN: usize = 11 + 4 + 4;
/// Days from 0001-01-01 (day 1 of the common era) to 2000-01-01, as chrono counts them.
const POSTGRES_EPOCH_CE_DAYS: i32 = 730_120;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Dates already written, by day number: a table's dates and timestamps repeat a few
/// thousand days, and working out a calendar date is most of what writing one costs.
struct DateCache {
    slots: Vec<(i64, DateText)>,
}

#[derive(Clone, Copy)]
struct DateText {
    text: [u8; 16],
    len: u8,
    bc: bool,
}

impl DateCache {
    const SLOTS: usize = 4096;

    fn new() -> DateCache {
        DateCache {
            // i64::MIN is no day a date or a timestamp can have.
            slots: vec![
                (
                    i64::MIN,
                    DateText {
                        text: [0; 16],
                        len: 0,
                        bc: false,
                    }
                );
                Self::SLOTS
            ],
        }
    }

    /// `days` since 2000-01-01 as `YYYY-MM-DD` (and whether BC), or `None` out of range.
    fn get(&mut self, days: i64) -> Option<DateText> {
        let slot = days.rem_euclid(Self::SLOTS as i64) as usize;
        if self.slots[slot].0 == days {
            return Some(self.slots[slot].1);
        }
        let mut text = Vec::with_capacity(16);
        let bc = push_date(civil_date(days)?, &mut text);
        let mut entry = DateText {
            text: [0; 16],
            len: text.len() as u8,
            bc,
        };
        entry.text[..text.len()].copy_from_slice(&text);
        self.slots[slot] = (days, entry);
        Some(entry)
    }
}

/// Turns the chunks of one binary `COPY` into CSV lines.
pub struct CsvTranscoder {
    columns: Vec<(&'static str, Field)>,
    dates: DateCache,
    /// The start of a row (or of the header) that has not fully arrived.
    pending: Vec<u8>,
    header_read: bool,
    ended: bool,
    /// Rows of the stream so far (the summary row included), for error messages.
    rows: u64,
    /// `None`: rows are data only. `Some`: each row carries one more, text field, NULL in
    /// every data row and set in exactly one row whose other fields are all NULL: a summary
    /// Postgres computed in the same statement ([`CsvTranscoder::with_summary`]).
    summary: Option<Option<String>>,
}

impl CsvTranscoder {
    /// A transcoder for rows of `columns` (name, as what it arrives), in `SELECT` order.
    pub fn new(columns: Vec<(&'static str, Field)>) -> CsvTranscoder {
        CsvTranscoder {
            columns,
            dates: DateCache::new(),
            pending: Vec::new(),
            header_read: false,
            ended: false,
            rows: 0,
            summary: None,
        }
    }

    /// As [`CsvTranscoder::new`], for a stream whose rows end with one more text column that
    /// is NULL in the data rows and holds a summary in one row of its own (all its other
    /// fields NULL, anywhere in the stream). The summary row is not written to the CSV;
    /// [`CsvTranscoder::finish`] returns its text, and fails if it is missing.
    pub fn with_summary(columns: Vec<(&'static str, Field)>) -> CsvTranscoder {
        CsvTranscoder {
            summary: Some(None),
            ..CsvTranscoder::new(columns)
        }
    }

    /// Rows written so far.
    #[cfg(test)]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Decode `chunk` (any slice of the stream) and append the CSV of every row it completes
    /// to `out`. The error says which row and column did not decode.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if self.pending.is_empty() {
            let used = self.decode(chunk, out)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut buffered = std::mem::take(&mut self.pending);
            buffered.extend_from_slice(chunk);
            let used = self.decode(&buffered, out)?;
            buffered.drain(..used);
            self.pending = buffered;
        }
        Ok(())
    }

    /// The stream ended: it must have ended where the data says it ends. Returns the summary
    /// of a [`CsvTranscoder::with_summary`] stream (`None` for a plain one).
    pub fn finish(&self) -> Result<Option<String>, String> {
        if !self.ended {
            return Err(format!(
                "the data stopped after row {} without its end marker",
                self.rows
            ));
        }
        if !self.pending.is_empty() {
            return Err(format!(
                "{} bytes follow the end marker",
                self.pending.len()
            ));
        }
        match &self.summary {
            None => Ok(None),
            Some(None) => Err(format!(
                "{} rows arrived without the summary row Postgres computes with them",
                self.rows
            )),
            Some(Some(text)) => Ok(Some(text.clone())),
        }
    }

    /// Decode every complete row at the start of `data`; returns the bytes used.
    fn decode(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
        let mut at = 0;
        if !self.header_read {
            if data.len() < HEADER_LEN {
                return Ok(0);
            }
            if &data[..11] != SIGNATURE {
                return Err("not Postgres' binary COPY format (wrong signature)".into());
            }
            let extension = u32::from_be_bytes(data[15..19].try_into().expect("4 bytes"));
            let end = HEADER_LEN + extension as usize;
            if data.len() < end {
                return Ok(0);
            }
            self.header_read = true;
            at = end;
        }
        loop {
            if self.ended {
                if at < data.len() {
                    return Err(format!("{} bytes follow the end marker", data.len() - at));
                }
                return Ok(at);
            }
            let Some(count) = data.get(at..at + 2) else {
                return Ok(at);
            };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                self.ended = true;
                at += 2;
                continue;
            }
            let expected = self.columns.len() + usize::from(self.summary.is_some());
            if count as usize != expected {
                return Err(format!(
                    "row {}: {count} fields, expected {expected}",
                    self.rows + 1,
                ));
            }
            // Only a row that has fully arrived is written, so a chunk boundary never splits
            // a CSV line.
            let mut end = at + 2;
            let mut last_length = -1;
            for _ in 0..count {
                let Some(length) = data.get(end..end + 4) else {
                    return Ok(at);
                };
                let length = i32::from_be_bytes(length.try_into().expect("4 bytes"));
                last_length = length;
                end += 4 + length.max(0) as usize;
            }
            if end > data.len() {
                return Ok(at);
            }
            self.rows += 1;
            if self.summary.is_some() && last_length >= 0 {
                self.take_summary(&data[at + 2..end])?;
                at = end;
                continue;
            }
            let mut field = at + 2;
            for (index, (name, kind)) in self.columns.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                let length = i32::from_be_bytes(data[field..field + 4].try_into().expect("4"));
                field += 4;
                if length < 0 {
                    // NULL: an empty, unquoted field.
                    continue;
                }
                let value = &data[field..field + length as usize];
                field += length as usize;
                write_value(*kind, value, &mut self.dates, out)
                    .map_err(|reason| format!("row {}, column {name}: {reason}", self.rows))?;
            }
            out.push(b'\n');
            at = end;
        }
    }

    /// Keep the summary of `row` (its fields, the summary last): every other field must be
    /// NULL, and it must be the only summary row.
    fn take_summary(&mut self, row: &[u8]) -> Result<(), String> {
        let mut field = 0;
        for (name, _) in &self.columns {
            let length = i32::from_be_bytes(row[field..field + 4].try_into().expect("4"));
            if length >= 0 {
                return Err(format!(
                    "row {}: the summary row has a value in column {name}",
                    self.rows
                ));
            }
            field += 4;
        }
        let text = &row[field + 4..];
        let text = std::str::from_utf8(text)
            .map_err(|_| format!("row {}: the summary is not UTF-8", self.rows))?;
        match &mut self.summary {
            Some(slot @ None) => {
                *slot = Some(text.to_string());
                Ok(())
            }
            _ => Err(format!("row {}: a second summary row", self.rows)),
        }
    }
}

fn fixed<const N: usize>(value: &[u8], what: &str) -> Result<[u8; N], String> {
    value
        .try_into()
        .map_err(|_| format!("{what} of {} bytes, expected {N}", value.len()))
}

fn write_value(
    kind: Field,
    value: &[u8],
    dates: &mut DateCache,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match kind {
        Field::Uuid => write_uuid(&fixed::<16>(value, "a uuid")?, out),
        Field::Text => write_text(value, out),
        Field::Date => write_date(i32::from_be_bytes(fixed(value, "a date")?), dates, out),
        Field::Numeric => write_numeric(value, out)?,
        Field::Int8 => {
            let number = i64::from_be_bytes(fixed(value, "an int8")?);
            out.extend_from_slice(number.to_string().as_bytes());
        }
        Field::Bool => match value {
            [0] => out.extend_from_slice(b"false"),
            [1] => out.extend_from_slice(b"true"),
            _ => return Err(format!("a bool of {value:?}")),
        },
        Field::Timestamptz => write_timestamptz(
            i64::from_be_bytes(fixed(value, "a timestamptz")?),
            dates,
            out,
        ),
    }
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_uuid(bytes: &[u8; 16], out: &mut Vec<u8>) {
    let mut text = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    out.extend_from_slice(&text);
}

/// As Postgres' CSV: quoted when empty (an unquoted empty field is NULL) or holding a comma,
/// a quote or a line break; a quote inside is doubled.
fn write_text(value: &[u8], out: &mut Vec<u8>) {
    let quote = value.is_empty()
        || value
            .iter()
            .any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &c in value {
        if c == b'"' {
            out.push(b'"');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// `value` as exactly `width` digits, zero-padded.
fn push_padded(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// The year, month and day of `days` since 2000-01-01, or `None` out of chrono's range.
fn civil_date(days: i64) -> Option<chrono::NaiveDate> {
    i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(POSTGRES_EPOCH_CE_DAYS))
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
}

/// `YYYY-MM-DD` as ISO DateStyle writes it (years before 1 AD as `YYYY-MM-DD BC`); returns
/// whether the date is BC so a timestamp can put the era after its time.
fn push_date(date: chrono::NaiveDate, out: &mut Vec<u8>) -> bool {
    use chrono::Datelike;
    let year = date.year();
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year } as u32;
    if shown > 9999 {
        out.extend_from_slice(shown.to_string().as_bytes());
    } else {
        push_padded(out, shown, 4);
    }
    out.push(b'-');
    push_padded(out, date.month(), 2);
    out.push(b'-');
    push_padded(out, date.day(), 2);
    bc
}

fn write_date(days: i32, dates: &mut DateCache, out: &mut Vec<u8>) {
    match days {
        i32::MAX => out.extend_from_slice(b"infinity"),
        i32::MIN => out.extend_from_slice(b"-infinity"),
        _ => match dates.get(i64::from(days)) {
            Some(date) => {
                out.extend_from_slice(&date.text[..usize::from(date.len)]);
                if date.bc {
                    out.extend_from_slice(b" BC");
                }
            }
            // Beyond chrono's range (±262,000 years) and so beyond DuckDB's: the loader
            // reports the value it cannot read.
            None => out.extend_from_slice(format!("date:{days}").as_bytes()),
        },
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00` as Postgres writes a timestamptz in UTC (trailing zeros
/// of the fraction dropped, no fraction at all on a whole second).
fn write_timestamptz(micros: i64, dates: &mut DateCache, out: &mut Vec<u8>) {
    match micros {
        i64::MAX => return out.extend_from_slice(b"infinity"),
        i64::MIN => return out.extend_from_slice(b"-infinity"),
        _ => {}
    }
    let days = micros.div_euclid(MICROS_PER_DAY);
    let of_day = micros.rem_euclid(MICROS_PER_DAY);
    let Some(date) = dates.get(days) else {
        return out.extend_from_slice(format!("timestamptz:{micros}").as_bytes());
    };
    out.extend_from_slice(&date.text[..usize::from(date.len)]);
    let seconds = of_day / 1_000_000;
    let mut fraction = (of_day % 1_000_000) as u32;
    out.push(b' ');
    push_padded(out, (seconds / 3600) as u32, 2);
    out.push(b':');
    push_padded(out, (seconds / 60 % 60) as u32, 2);
    out.push(b':');
    push_padded(out, (seconds % 60) as u32, 2);
    if fraction > 0 {
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_padded(out, fraction, width);
    }
    out.extend_from_slice(b"+00");
    if date.bc {
        out.extend_from_slice(b" BC");
    }
}

const NUMERIC_POSITIVE: u16 = 0x0000;
const NUMERIC_NEGATIVE: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_INFINITY: u16 = 0xD000;
const NUMERIC_NEGATIVE_INFINITY: u16 = 0xF000;

/// A numeric as Postgres' `numeric_out` writes it: the integer part without leading zeros,
/// then exactly the display scale's digits after the point.
fn write_numeric(value: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if value.len() < 8 {
        return Err(format!("a numeric of {} bytes", value.len()));
    }
    let word = |i: usize| u16::from_be_bytes([value[2 * i], value[2 * i + 1]]);
    let ndigits = usize::from(word(0));
    let weight = i64::from(word(1) as i16);
    let sign = word(2);
    let dscale = i64::from(word(3));
    if value.len() != 8 + 2 * ndigits {
        return Err(format!(
            "a numeric of {} bytes for {ndigits} digits",
            value.len()
        ));
    }
    let special: &[u8] = match sign {
        NUMERIC_NAN => b"NaN",
        NUMERIC_INFINITY => b"Infinity",
        NUMERIC_NEGATIVE_INFINITY => b"-Infinity",
        _ => b"",
    };
    if !special.is_empty() {
        out.extend_from_slice(special);
        return Ok(());
    }
    match sign {
        NUMERIC_NEGATIVE => out.push(b'-'),
        NUMERIC_POSITIVE => {}
        other => return Err(format!("a numeric with sign word {other:#06x}")),
    }
    let digit = |group: i64| -> Result<u32, String> {
        if group < 0 || group >= ndigits as i64 {
            return Ok(0);
        }
        let d = u32::from(word(4 + group as usize));
        if d >= 10_000 {
            return Err(format!("a numeric digit group of {d}"));
        }
        Ok(d)
    };
    if weight < 0 {
        out.push(b'0');
    } else {
        // The first group without leading zeros.
        let first = digit(0)?;
        let width = match first {
            0..=9 => 1,
            10..=99 => 2,
            100..=999 => 3,
            _ => 4,
        };
        push_padded(out, first, width);
        for group in 1..=weight {
            push_padded(out, digit(group)?, 4);
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let mut left = dscale;
        let mut group = weight + 1;
        while left > 0 {
            let take = left.min(4);
            let four = digit(group)?;
            push_padded(out, four / 10u32.pow((4 - take) as u32), take as usize);
            left -= take;
            group += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary form of a numeric from its words.
    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        assert_eq!(usize::from(ndigits), digits.len());
        let mut bytes = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            bytes.extend_from_slice(&w.to_be_bytes());
        }
        bytes
    }

    fn text_of(kind: Field, value: &[u8]) -> String {
        let mut out = Vec::new();
        write_value(kind, value, &mut DateCache::new(), &mut out).expect("decodes");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn numerics_read_as_numeric_out_writes_them() {
        // Hand-derived from the format: value = sum of digit[i] * 10000^(weight - i).
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (numeric(0, 0, NUMERIC_POSITIVE, 0, &[]), "0"),
            (numeric(0, 0, NUMERIC_POSITIVE, 4, &[]), "0.0000"),
            (numeric(1, 0, NUMERIC_POSITIVE, 0, &[7]), "7"),
            (numeric(2, 0, NUMERIC_POSITIVE, 4, &[398, 9190]), "398.9190"),
            (numeric(2, 0, NUMERIC_NEGATIVE, 2, &[12, 3400]), "-12.34"),
            (numeric(2, 1, NUMERIC_POSITIVE, 0, &[1, 0]), "10000"),
            (
                numeric(3, 2, NUMERIC_POSITIVE, 1, &[12, 3, 4500]),
                "1200034500.0",
            ),
            // weight -1: the first group holds the first four places after the point
            (numeric(2, -1, NUMERIC_POSITIVE, 5, &[1, 2000]), "0.00012"),
            (numeric(1, -1, NUMERIC_POSITIVE, 2, &[1200]), "0.12"),
            // weight -3: two whole zero groups come before the first digit group
            (
                numeric(1, -3, NUMERIC_POSITIVE, 12, &[1200]),
                "0.000000001200",
            ),
            // display scale beyond the stored digits pads with zeros
            (numeric(1, 0, NUMERIC_POSITIVE, 10, &[5]), "5.0000000000"),
            // display scale cutting a group (numeric_out never rounds here: stored digits
            // beyond dscale are zero)
            (numeric(2, 0, NUMERIC_POSITIVE, 3, &[1, 2340]), "1.234"),
            (numeric(0, 0, NUMERIC_NAN, 0, &[]), "NaN"),
            (numeric(0, 0, NUMERIC_INFINITY, 0, &[]), "Infinity"),
            (
                numeric(0, 0, NUMERIC_NEGATIVE_INFINITY, 0, &[]),
                "-Infinity",
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(text_of(Field::Numeric, &bytes), want, "{bytes:?}");
        }
        let mut out = Vec::new();
        for bad in [
            vec![0u8; 7],
            numeric(1, 0, NUMERIC_POSITIVE, 0, &[10_000]),
            numeric(0, 0, 0x1234, 0, &[]),
        ] {
            assert!(write_numeric(&bad, &mut out).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_times_uuids_and_text_read_as_postgres_writes_them() {
        let day = |d: i32| d.to_be_bytes().to_vec();
        let micros = |m: i64| m.to_be_bytes().to_vec();
        let cases: Vec<(Field, Vec<u8>, &str)> = vec![
            (Field::Date, day(0), "2000-01-01"),
            (Field::Date, day(-1), "1999-12-31"),
            (Field::Date, day(60), "2000-03-01"),
            (Field::Date, day(59), "2000-02-29"),
            (Field::Date, day(-730_119), "0001-01-01"),
            (Field::Date, day(-730_120), "0001-12-31 BC"),
            (Field::Date, day(i32::MAX), "infinity"),
            (Field::Date, day(i32::MIN), "-infinity"),
            (Field::Timestamptz, micros(0), "2000-01-01 00:00:00+00"),
            (
                Field::Timestamptz,
                micros(-1),
                "1999-12-31 23:59:59.999999+00",
            ),
            (
                Field::Timestamptz,
                micros(1_500_000),
                "2000-01-01 00:00:01.5+00",
            ),
            (
                Field::Timestamptz,
                micros(848_017_653_123_124),
                "2026-11-15 00:27:33.123124+00",
            ),
            (Field::Timestamptz, micros(i64::MAX), "infinity"),
            (Field::Timestamptz, micros(i64::MIN), "-infinity"),
            (
                Field::Uuid,
                (0u8..16).collect(),
                "00010203-0405-0607-0809-0a0b0c0d0e0f",
            ),
            (Field::Text, b"USD".to_vec(), "USD"),
            (Field::Text, b"".to_vec(), "\"\""),
            (Field::Text, b"a,b".to_vec(), "\"a,b\""),
            (Field::Text, b"say \"hi\"".to_vec(), "\"say \"\"hi\"\"\""),
            (Field::Text, b"two\nlines".to_vec(), "\"two\nlines\""),
            (Field::Text, "Zürich".as_bytes().to_vec(), "Zürich"),
            (Field::Bool, vec![1], "true"),
            (Field::Bool, vec![0], "false"),
            (Field::Int8, micros(-42), "-42"),
        ];
        for (kind, bytes, want) in cases {
            assert_eq!(text_of(kind, &bytes), want, "{kind:?} {bytes:?}");
        }
    }

    /// A whole stream: header, rows (one with a NULL), end marker.
    fn stream(rows: &[(&str, Option<i64>)]) -> Vec<u8> {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        for (text, number) in rows {
            bytes.extend_from_slice(&2i16.to_be_bytes());
            bytes.extend_from_slice(&(text.len() as i32).to_be_bytes());
            bytes.extend_from_slice(text.as_bytes());
            match number {
                Some(n) => {
                    bytes.extend_from_slice(&8i32.to_be_bytes());
                    bytes.extend_from_slice(&n.to_be_bytes());
                }
                None => bytes.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        bytes.extend_from_slice(&(-1i16).to_be_bytes());
        bytes
    }

    #[test]
    fn any_split_of_the_stream_gives_the_same_csv() {
        let data = stream(&[("a", Some(1)), ("", None), ("c,d", Some(-3))]);
        let want = "a,1\n\"\",\n\"c,d\",-3\n";
        for chunk in 1..=data.len() {
            let mut transcoder =
                CsvTranscoder::new(vec![("name", Field::Text), ("n", Field::Int8)]);
            let mut out = Vec::new();
            for piece in data.chunks(chunk) {
                transcoder.feed(piece, &mut out).expect("decodes");
            }
            transcoder.finish().expect("ends cleanly");
            assert_eq!(String::from_utf8(out).unwrap(), want, "chunks of {chunk}");
            assert_eq!(transcoder.rows(), 3);
        }
    }

    /// `(name, n, summary)`, each field NULL when `None`.
    type SummaryRow<'a> = (Option<&'a str>, Option<i64>, Option<&'a str>);

    /// A stream of `rows` with a summary column.
    fn summary_stream(rows: &[SummaryRow]) -> Vec<u8> {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        let text = |bytes: &mut Vec<u8>, value: Option<&str>| match value {
            Some(v) => {
                bytes.extend_from_slice(&(v.len() as i32).to_be_bytes());
                bytes.extend_from_slice(v.as_bytes());
            }
            None => bytes.extend_from_slice(&(-1i32).to_be_bytes()),
        };
        for (name, number, summary) in rows {
            bytes.extend_from_slice(&3i16.to_be_bytes());
            text(&mut bytes, *name);
            match number {
                Some(n) => {
                    bytes.extend_from_slice(&8i32.to_be_bytes());
                    bytes.extend_from_slice(&n.to_be_bytes());
                }
                None => bytes.extend_from_slice(&(-1i32).to_be_bytes()),
            }
            text(&mut bytes, *summary);
        }
        bytes.extend_from_slice(&(-1i16).to_be_bytes());
        bytes
    }

    #[test]
    fn a_summary_row_is_kept_apart_from_the_rows_wherever_it_comes() {
        let columns = || vec![("name", Field::Text), ("n", Field::Int8)];
        let rows = [
            (Some("a"), Some(1), None),
            (Some(""), None, None),
            (None, None, Some("3,42,7.5")),
            (Some("c,d"), Some(-3), None),
        ];
        let data = summary_stream(&rows);
        for chunk in [1, 7, data.len()] {
            let mut transcoder = CsvTranscoder::with_summary(columns());
            let mut out = Vec::new();
            for piece in data.chunks(chunk) {
                transcoder.feed(piece, &mut out).expect("decodes");
            }
            assert_eq!(
                transcoder.finish().expect("ends cleanly").as_deref(),
                Some("3,42,7.5")
            );
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "a,1\n\"\",\n\"c,d\",-3\n",
                "chunks of {chunk}"
            );
        }
        // An empty delta: the summary alone.
        let data = summary_stream(&[(None, None, Some("0,0,0"))]);
        let mut transcoder = CsvTranscoder::with_summary(columns());
        let mut out = Vec::new();
        transcoder.feed(&data, &mut out).unwrap();
        assert_eq!(transcoder.finish().unwrap().as_deref(), Some("0,0,0"));
        assert!(out.is_empty());
        // A plain transcoder has no summary to give.
        let mut plain = CsvTranscoder::new(columns());
        plain
            .feed(&stream(&[("a", Some(1))]), &mut Vec::new())
            .unwrap();
        assert_eq!(plain.finish().unwrap(), None);
    }

    #[test]
    fn a_missing_doubled_or_mixed_summary_is_an_error() {
        let columns = || vec![("name", Field::Text), ("n", Field::Int8)];
        let fails = |rows: &[SummaryRow]| {
            let mut transcoder = CsvTranscoder::with_summary(columns());
            match transcoder.feed(&summary_stream(rows), &mut Vec::new()) {
                Err(error) => error,
                Ok(()) => transcoder.finish().unwrap_err(),
            }
        };
        let cases: [(&[SummaryRow], &str); 4] = [
            (&[(Some("a"), Some(1), None)], "without the summary row"),
            (
                &[(None, None, Some("1,2")), (None, None, Some("1,2"))],
                "row 2: a second summary row",
            ),
            (
                &[(Some("a"), None, Some("1,2"))],
                "row 1: the summary row has a value in column name",
            ),
            (
                &[(Some("a"), Some(1), None), (None, Some(5), Some("1,2"))],
                "row 2: the summary row has a value in column n",
            ),
        ];
        for (rows, want) in cases {
            let error = fails(rows);
            assert!(error.contains(want), "{rows:?}: {error}");
        }
        // Rows of the plain shape where a summary column is expected.
        let error = CsvTranscoder::with_summary(columns())
            .feed(&stream(&[("a", Some(1))]), &mut Vec::new())
            .unwrap_err();
        assert!(error.contains("2 fields, expected 3"), "{error}");
    }

    #[test]
    fn a_cut_or_malformed_stream_is_an_error_that_says_where() {
        let data = stream(&[("a", Some(1)), ("b", Some(2))]);
        let columns = || vec![("name", Field::Text), ("n", Field::Int8)];
        // cut inside the second row: no end marker
        let mut transcoder = CsvTranscoder::new(columns());
        let mut out = Vec::new();
        transcoder.feed(&data[..data.len() - 6], &mut out).unwrap();
        assert_eq!(String::from_utf8(out.clone()).unwrap(), "a,1\n");
        let error = transcoder.finish().unwrap_err();
        assert!(error.contains("after row 1"), "{error}");
        // an int8 of 4 bytes in row 2
        let mut bad = data.clone();
        let at = bad.len() - 2 - 8 - 4;
        bad[at..at + 4].copy_from_slice(&4i32.to_be_bytes());
        bad.truncate(at + 4 + 4);
        bad.extend_from_slice(&(-1i16).to_be_bytes());
        let error = CsvTranscoder::new(columns())
            .feed(&bad, &mut Vec::new())
            .unwrap_err();
        assert!(error.contains("row 2, column n"), "{error}");
        // a row with the wrong field count, and a stream that is not binary COPY at all
        let error = CsvTranscoder::new(vec![("name", Field::Text)])
            .feed(&data, &mut Vec::new())
            .unwrap_err();
        assert!(error.contains("2 fields, expected 1"), "{error}");
        let error = CsvTranscoder::new(columns())
            .feed(b"id,name\n1,a\n2,b\n3,c\n", &mut Vec::new())
            .unwrap_err();
        assert!(error.contains("signature"), "{error}");
    }
}
