//! GS1 element strings: `(01)09501101530003(21)ABC123` in a template becomes the
//! data GS1-128 and GS1 DataMatrix encode: AIs and values run together, a
//! separator (FNC1, transmitted as GS) after every variable-length value but the last.

/// One application identifier this station knows: its digits, fixed length of the
/// value (or `None` and the maximum for variable length), and whether the value is
/// numeric with a GS1 mod-10 check digit.
struct Ai {
    code: &'static str,
    fixed: Option<usize>,
    max: usize,
    numeric: bool,
    check_digit: bool,
}

const fn ai(code: &'static str, fixed: Option<usize>, max: usize, numeric: bool, check_digit: bool) -> Ai {
    Ai { code, fixed, max, numeric, check_digit }
}

/// The AIs device labels use; the table is easy to extend.
const AIS: &[Ai] = &[
    ai("00", Some(18), 18, true, true), // SSCC
    ai("01", Some(14), 14, true, true), // GTIN
    ai("02", Some(14), 14, true, true), // GTIN of contained items
    ai("10", None, 20, false, false),   // batch/lot
    ai("11", Some(6), 6, true, false),  // production date YYMMDD
    ai("17", Some(6), 6, true, false),  // expiry date YYMMDD
    ai("21", None, 20, false, false),   // serial number
    ai("240", None, 30, false, false),  // additional product id
    ai("241", None, 30, false, false),  // customer part number
    ai("250", None, 30, false, false),  // secondary serial number
    ai("8004", None, 30, false, false), // GIAI
];

/// GS, the separator a scanner transmits for FNC1 inside the data.
pub const GS: char = '\u{1D}';

/// One parsed element: AI and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The AI digits.
    pub ai: String,
    /// The value.
    pub value: String,
    /// The value has a variable length (needs a separator unless last).
    pub variable: bool,
}

/// Parses and checks `(AI)value...`.
pub fn parse(text: &str) -> Result<Vec<Element>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    if !rest.starts_with('(') {
        return Err(format!("GS1 data must start with an (AI), got {text:?}"));
    }
    while let Some(after) = rest.strip_prefix('(') {
        let close = after.find(')').ok_or("an ( has no closing )")?;
        let code = &after[..close];
        let tail = &after[close + 1..];
        let end = tail.find('(').unwrap_or(tail.len());
        let value = &tail[..end];
        rest = &tail[end..];
        let known = AIS.iter().find(|a| a.code == code).ok_or_else(|| {
            format!(
                "AI ({code}) is not known to this station (known: {})",
                AIS.iter().map(|a| a.code).collect::<Vec<_>>().join(", ")
            )
        })?;
        check_value(known, value)?;
        out.push(Element { ai: code.to_string(), value: value.to_string(), variable: known.fixed.is_none() });
    }
    Ok(out)
}

fn check_value(ai: &Ai, value: &str) -> Result<(), String> {
    let code = ai.code;
    match ai.fixed {
        Some(n) if value.len() != n => return Err(format!("({code}) needs exactly {n} characters, got {value:?}")),
        None if value.is_empty() || value.len() > ai.max => {
            return Err(format!("({code}) needs 1 to {} characters, got {value:?}", ai.max))
        }
        _ => {}
    }
    if ai.numeric && !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("({code}) must be digits, got {value:?}"));
    }
    // GS1 AI encodable character set 82.
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c);
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!("({code}) value {value:?} has {bad:?}, which GS1 does not allow"));
    }
    if ai.check_digit && !check_digit_ok(value) {
        return Err(format!("({code}) {value} has a wrong check digit"));
    }
    Ok(())
}

/// GS1 mod-10: weights 3,1,3,… from the right, excluding the check digit.
fn check_digit_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.bytes().map(|b| (b - b'0') as u32).collect();
    let (body, check) = d.split_at(d.len() - 1);
    let sum: u32 = body.iter().rev().enumerate().map(|(i, v)| if i % 2 == 0 { v * 3 } else { *v }).sum();
    (10 - sum % 10) % 10 == check[0]
}

/// The data to encode after the leading FNC1, with `separator` between a
/// variable-length value and the next AI.
pub fn encode(elements: &[Element], separator: &str) -> String {
    let mut out = String::new();
    for (i, e) in elements.iter().enumerate() {
        out.push_str(&e.ai);
        out.push_str(&e.value);
        if e.variable && i + 1 < elements.len() {
            out.push_str(separator);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_separates_variable_length_values() {
        let e = parse("(21)ABC123(01)09501101530003").unwrap();
        assert_eq!(encode(&e, "|"), "21ABC123|0109501101530003");
        let e = parse("(01)09501101530003(21)ABC123").unwrap();
        assert_eq!(encode(&e, "|"), "010950110153000321ABC123");
    }

    #[test]
    fn refuses_what_gs1_does_not_allow() {
        assert!(parse("(01)09501101530004").unwrap_err().contains("check digit"));
        assert!(parse("(01)123").unwrap_err().contains("exactly 14"));
        assert!(parse("(99)x").unwrap_err().contains("not known"));
        assert!(parse("21ABC").unwrap_err().contains("start with"));
        assert!(parse("(21)A B").unwrap_err().contains("does not allow"));
    }
}
