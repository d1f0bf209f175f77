//! A JSON record's bytes parsed into an object, with a bound on how many
//! values it may hold.
//!
//! serde_json's `Value` costs 72 bytes a value (more with a Vec's slack), so a
//! record of `[0,0,0,...]` takes some 70 times its size once parsed: a 16 MiB
//! record, 1.2 GB. The record-size limit alone does not bound memory; this
//! parser counts values as it builds them and stops at the budget
//! ([`super::max_fields`]), before allocating the rest.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::Content;

/// What one parsed value costs in memory, at most: the value (72 bytes), a
/// Vec's slack for another, and room for the text form the rules build of
/// nested values. A batch counts it toward its budget (`Row::footprint`).
pub const VALUE_COST: usize = 160;

/// A record holds more JSON values than its budget allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyValues(pub usize);

/// Parses a JSON record's bytes into an object (keys unique, in input order),
/// setting `utf8`; the content and how many values it holds. JSON that does
/// not parse, or is not an object, is [`Content::Malformed`]; one holding more
/// than `max_values` values is an error, found before they are all built.
pub fn parse_object(
    raw: &[u8],
    utf8: &mut bool,
    max_values: usize,
) -> Result<(Content, usize), TooManyValues> {
    let text = match std::str::from_utf8(raw) {
        Ok(s) => {
            *utf8 = true;
            std::borrow::Cow::Borrowed(s)
        }
        Err(_) => {
            *utf8 = false;
            String::from_utf8_lossy(raw)
        }
    };
    let budget = Budget {
        left: Cell::new(max_values),
        exceeded: Cell::new(false),
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let parsed = ObjectSeed(&budget)
        .deserialize(&mut de)
        .and_then(|map| de.end().map(|()| map));
    let used = max_values - budget.left.get();
    match parsed {
        Ok(map) => Ok((Content::Object(map), used)),
        Err(_) if budget.exceeded.get() => Err(TooManyValues(max_values)),
        Err(_) => Ok((Content::Malformed, used)),
    }
}

struct Budget {
    left: Cell<usize>,
    exceeded: Cell<bool>,
}

impl Budget {
    fn take<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("too many values"))
            }
        }
    }
}

/// The record itself: an object whose keys are unique. serde_json keeps the
/// last of two equal keys without a word, but a record that says
/// `"is_synthetic":"no"` and then `"is_synthetic":"yes"` is ambiguous, and the
/// CRM's importer may read it the other way: such a record is malformed, as a
/// CSV header naming a column twice is.
struct ObjectSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        map(self.0, a, true)
    }
}

/// Why `raw` is no JSON object, in serde's words (`duplicate key \`a\``,
/// `invalid type: sequence, expected a JSON object`, `EOF while parsing`),
/// for a message that must say more than "malformed". serde's position is
/// left out: it counts from the record's start, not the file's.
pub fn why_not_an_object(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let budget = Budget {
        left: Cell::new(usize::MAX),
        exceeded: Cell::new(false),
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let parsed = ObjectSeed(&budget)
        .deserialize(&mut de)
        .and_then(|_| de.end());
    match parsed {
        Ok(()) => "not a JSON object".into(),
        Err(e) => crate::error::json_message(&e),
    }
}

/// An object's entries, each key and value counted; `unique`: a repeated key
/// is an error (nested objects are values, not columns, and keep the last).
fn map<'de, A: MapAccess<'de>>(
    budget: &Budget,
    mut a: A,
    unique: bool,
) -> Result<Map<String, Value>, A::Error> {
    let mut map = Map::new();
    while let Some(key) = a.next_key::<String>()? {
        budget.take()?;
        let value = a.next_value_seed(ValueSeed(budget))?;
        if unique && map.contains_key(&key) {
            return Err(A::Error::custom(format_args!("duplicate key `{key}`")));
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// Any JSON value, built as serde_json's own `Value` would be, one budget
/// unit a value.
struct ValueSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut items = Vec::new();
        while let Some(v) = a.next_element_seed(ValueSeed(self.0))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Value, A::Error> {
        self.0.take()?;
        map(self.0, a, false).map(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Content {
        parse_object(s.as_bytes(), &mut false, 1 << 20).unwrap().0
    }

    #[test]
    fn a_key_given_twice_makes_the_record_malformed() {
        assert!(matches!(
            parse(r#"{"is_synthetic":"no","data_source":"web","is_synthetic":"yes"}"#),
            Content::Malformed
        ));
        // Nested objects are values, not columns: their keys are not checked.
        match parse(r#"{"a":{"b":1,"b":2},"c":[1,1]}"#) {
            Content::Object(map) => assert_eq!(map.len(), 2),
            _ => panic!("a record with unique keys is an object"),
        }
        assert!(matches!(parse("[1,2]"), Content::Malformed));
        assert!(matches!(parse("\"text\""), Content::Malformed));
        assert!(matches!(parse("{} x"), Content::Malformed));
    }

    #[test]
    fn values_are_what_serde_json_builds() {
        let text = r#"{"s":"caf\u00e9\n","n":-1,"u":18446744073709551615,"f":1.5e300,
            "b":true,"z":null,"a":[1,[2,{}],{"k":"v"}],"o":{"y":1,"x":[]},"o2":{"d":1,"d":2}}"#;
        let Content::Object(ours) = parse(text) else {
            panic!("an object")
        };
        let theirs: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap(),
            "the same order too"
        );
    }

    #[test]
    fn every_key_and_value_counts_and_the_budget_stops_the_parse() {
        let text = r#"{"a":[1,2,{"b":null}],"c":"x"}"#;
        // Keys a, b, c; values: the array, 1, 2, the object, null, "x".
        let (_, used) = parse_object(text.as_bytes(), &mut false, 100).unwrap();
        assert_eq!(used, 9);
        assert!(parse_object(text.as_bytes(), &mut false, 9).is_ok());
        assert_eq!(
            parse_object(text.as_bytes(), &mut false, 8).unwrap_err(),
            TooManyValues(8)
        );
        // Over budget and broken: the budget is what stopped it.
        assert!(parse_object(b"[1,2,3", &mut false, 1).is_ok());
        assert_eq!(why_not_an_object(br#"{"a":1,"a":2}"#), "duplicate key `a`");
        assert_eq!(
            why_not_an_object(b"[1]"),
            "invalid type: sequence, expected a JSON object"
        );
        assert!(parse_object(b"{\"a\":[1,2,3", &mut false, 2).is_err());
    }

    #[test]
    fn invalid_utf8_is_parsed_lossily_and_marked() {
        let mut utf8 = true;
        let (content, _) = parse_object(b"{\"a\":\"caf\xe9\"}", &mut utf8, 10).unwrap();
        assert!(!utf8);
        assert!(matches!(content, Content::Object(_)));
    }
}
