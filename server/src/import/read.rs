//! Reading an uploaded file into customers, row by row: a bad row is
//! rejected with its reason and the others still count; only a file that
//! cannot be read as a whole (not CSV or JSON, a wrong header) is refused.

use crate::customer_json::customer_from_object;
use app::domain::{lookup_keys, Customer, FieldValue, RowProblem};
use serde_json::Value;
use std::collections::HashMap;

/// The columns a CSV file must name in its header, in any order.
pub const CSV_COLUMNS: [&str; 3] = ["customerID", "firstName", "lastName"];

/// What a file holds.
#[derive(Debug, Default)]
pub struct FileRows {
    /// Rows read (without the CSV header).
    pub rows: u64,
    /// Valid customers, each with its row, in file order.
    pub customers: Vec<(u64, Customer)>,
    pub rejected: Vec<RowProblem>,
}

/// Reads `bytes` as the `customers.json` format (named `*.json`, or starting
/// with `{`) or else as CSV with a `customerID,firstName,lastName` header.
pub fn read_file(name: &str, bytes: &[u8]) -> Result<FileRows, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let named_json = name.to_ascii_lowercase().ends_with(".json");
    match first {
        None => Err("The file is empty.".into()),
        Some(b'{') => read_json(bytes),
        Some(_) if named_json => Err(
            "A JSON file must be one object keyed by customerID, as the JSON download is.".into(),
        ),
        Some(_) => read_csv(bytes),
    }
}

fn read_json(bytes: &[u8]) -> Result<FileRows, String> {
    let Entries(entries) = serde_json::from_slice(bytes)
        .map_err(|e| format!("The file is not a JSON object keyed by customerID ({e})."))?;
    let mut file = Rows::default();
    for (n, (key, value)) in entries.iter().enumerate() {
        let row = n as u64 + 1;
        file.add(row, key, customer_in_entry(key, value));
    }
    Ok(file.done())
}

/// A JSON object's entries in file order, a repeated key included: rows are
/// numbered as the file has them, and a key given twice is rejected as a CSV
/// row repeating an ID is (a map would keep one of the two, unsaid).
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object keyed by customerID")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

/// The customer of one entry of an object keyed by `customerID`; why not, in
/// words for the user, otherwise.
pub fn customer_in_entry(key: &str, value: &Value) -> Result<Customer, String> {
    let fields = value
        .as_object()
        .ok_or("The entry is not an object with customerID, firstName and lastName")?;
    let customer = customer_from_object(fields).map_err(|errors| errors.user_messages())?;
    // The ID is stored NFC-normalised; the key may be in another normal form.
    if customer.id != key && lookup_keys(key)[0] != customer.id {
        return Err(format!(
            "The entry’s key “{key}” differs from its customerID “{}”",
            customer.id
        ));
    }
    Ok(customer)
}

fn read_csv(bytes: &[u8]) -> Result<FileRows, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| format!("The CSV header cannot be read ({e})."))?
        .clone();
    let columns = column_order(&header)?;
    let mut file = Rows::default();
    let mut record = csv::ByteRecord::new();
    // The line a row starts on, counted from its byte offset: after a CRLF
    // line end the csv crate places the next record at the LF (and its own
    // line numbers are one short).
    let (mut line, mut counted_to) = (1, 0);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            // Unreachable on bytes in memory with `flexible`; said plainly all the same.
            Err(e) => return Err(format!("The CSV file cannot be read past a point ({e}).")),
        }
        let mut starts_at = record.position().map_or(counted_to, |p| p.byte() as usize);
        while bytes
            .get(starts_at)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            starts_at += 1;
        }
        line += memchr::memchr_iter(b'\n', &bytes[counted_to..starts_at]).count() as u64;
        counted_to = starts_at;
        let row = line;
        let id = record
            .get(columns[0])
            .map(|id| String::from_utf8_lossy(id).into_owned())
            .unwrap_or_default();
        let customer = if record.len() != CSV_COLUMNS.len() {
            Err(format!(
                "The row has {} fields where the header names {}",
                record.len(),
                CSV_COLUMNS.len()
            ))
        } else {
            customer_in_record(&record, columns)
        };
        file.add(row, &id, customer);
    }
    Ok(file.done())
}

/// Where each of [`CSV_COLUMNS`] is in the header.
fn column_order(header: &csv::ByteRecord) -> Result<[usize; 3], String> {
    let names: Vec<String> = header
        .iter()
        .map(|name| String::from_utf8_lossy(name).trim().to_owned())
        .collect();
    let wanted = CSV_COLUMNS.join(",");
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| !CSV_COLUMNS.contains(name))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "The CSV header must be {wanted}; it has {} as well.",
            unknown.join(", ")
        ));
    }
    let mut order = [0; 3];
    for (slot, column) in order.iter_mut().zip(CSV_COLUMNS) {
        let mut at = names.iter().enumerate().filter(|(_, name)| *name == column);
        *slot = match (at.next(), at.next()) {
            (Some((i, _)), None) => i,
            (None, _) => {
                return Err(format!(
                    "The CSV header must be {wanted}; {column} is missing."
                ))
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "The CSV header must be {wanted}; {column} appears twice."
                ))
            }
        };
    }
    Ok(order)
}

fn customer_in_record(record: &csv::ByteRecord, columns: [usize; 3]) -> Result<Customer, String> {
    let mut texts = [""; 3];
    for (text, (column, name)) in texts.iter_mut().zip(columns.into_iter().zip(CSV_COLUMNS)) {
        *text = std::str::from_utf8(&record[column])
            .map_err(|_| format!("{name} is not UTF-8 text (save the file as UTF-8)"))?;
    }
    let [id, first, last] = texts.map(FieldValue::Text);
    Customer::validate(id, first, last).map_err(|errors| errors.user_messages())
}

/// Rows as they are read: a later row with an ID already seen is rejected,
/// so that a file never says two things about one customer.
#[derive(Default)]
struct Rows {
    file: FileRows,
    seen: HashMap<String, u64>,
}

impl Rows {
    fn add(&mut self, row: u64, id: &str, customer: Result<Customer, String>) {
        self.file.rows += 1;
        let customer = customer.and_then(|customer| match self.seen.get(&customer.id) {
            Some(first) => Err(format!(
                "Customer ID “{}” is already on row {first}",
                customer.id
            )),
            None => Ok(customer),
        });
        match customer {
            Ok(customer) => {
                self.seen.insert(customer.id.clone(), row);
                self.file.customers.push((row, customer));
            }
            Err(reason) => self.file.rejected.push(RowProblem {
                row,
                id: id.to_owned(),
                reason,
            }),
        }
    }

    fn done(self) -> FileRows {
        self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(file: &FileRows) -> Vec<&str> {
        file.customers.iter().map(|(_, c)| c.id.as_str()).collect()
    }

    #[test]
    fn csv_rows_are_read_in_any_column_order_and_bad_rows_are_rejected_with_their_line() {
        let csv = "\u{feff}lastName,customerID,firstName\r\n\
                   Baker,1,James\r\n\
                   \"Smith, Jr.\",2,\"Anna \"\"Ann\"\"\"\r\n\
                   Jones,,Bob\n\
                   Short,3\n\
                   Again,1,James\n";
        let file = read_file("people.csv", csv.as_bytes()).unwrap();
        assert_eq!(file.rows, 5);
        assert_eq!(ids(&file), ["1", "2"]);
        assert_eq!(file.customers[1].1.last_name, "Smith, Jr.");
        assert_eq!(file.customers[1].1.first_name, "Anna \"Ann\"");
        let rejected: Vec<(u64, &str)> = file
            .rejected
            .iter()
            .map(|p| (p.row, p.id.as_str()))
            .collect();
        assert_eq!(rejected, [(4, ""), (5, "3"), (6, "1")]);
        assert!(
            file.rejected[1].reason.contains("2 fields"),
            "{:?}",
            file.rejected[1]
        );
        assert!(
            file.rejected[2].reason.contains("already on row 2"),
            "{:?}",
            file.rejected[2]
        );
    }

    #[test]
    fn a_csv_header_other_than_the_three_columns_refuses_the_file() {
        for (header, says) in [
            ("id,firstName,lastName", "has id as well"),
            ("customerID,firstName", "lastName is missing"),
            (
                "customerID,firstName,lastName,firstName",
                "firstName appears twice",
            ),
        ] {
            let error = read_file("x.csv", format!("{header}\n1,a,b\n").as_bytes()).unwrap_err();
            assert!(error.contains(says), "{header}: {error}");
        }
    }

    #[test]
    fn invalid_utf8_rejects_only_its_row() {
        let mut bytes = b"customerID,firstName,lastName\n1,Jos\xe9,Garc\xeda\n".to_vec();
        bytes.extend_from_slice("2,José,García\n".as_bytes());
        let file = read_file("latin1.csv", &bytes).unwrap();
        assert_eq!(ids(&file), ["2"]);
        assert!(file.rejected[0].reason.contains("not UTF-8"));
    }

    #[test]
    fn json_entries_are_checked_one_by_one() {
        let json = r#"{"a": {"customerID": "a", "firstName": "Ann", "lastName": "Lee"},
                       "b": {"customerID": "c", "firstName": "B", "lastName": "B"},
                       "d": 7,
                       "e": {"customerID": "e", "firstName": "", "lastName": "E"}}"#;
        let file = read_file("customers.json", json.as_bytes()).unwrap();
        assert_eq!(file.rows, 4);
        assert_eq!(ids(&file), ["a"]);
        let rows: Vec<u64> = file.rejected.iter().map(|p| p.row).collect();
        assert_eq!(rows, [2, 3, 4]);
    }

    #[test]
    fn json_entries_keep_the_file_order_and_a_repeated_key_is_rejected() {
        let json = r#"{"b": {"customerID": "b", "firstName": "", "lastName": "B"},
                       "x": {"customerID": "x", "firstName": "Ann", "lastName": "X"},
                       "a": {"customerID": "a", "firstName": "Al", "lastName": "A"},
                       "x": {"customerID": "x", "firstName": "Bob", "lastName": "X"}}"#;
        let file = read_file("customers.json", json.as_bytes()).unwrap();
        assert_eq!(file.rows, 4);
        assert_eq!(ids(&file), ["x", "a"]);
        assert_eq!(file.customers[0].1.first_name, "Ann");
        let rejected: Vec<(u64, &str, &str)> = file
            .rejected
            .iter()
            .map(|p| (p.row, p.id.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(rejected[0].0, 1);
        assert_eq!(rejected[0].1, "b");
        assert_eq!(rejected[1], (4, "x", "Customer ID “x” is already on row 2"));
    }

    #[test]
    fn files_that_are_neither_are_refused_whole() {
        assert!(read_file("x.csv", b"  \n").unwrap_err().contains("empty"));
        assert!(read_file("x.json", b"[1, 2]")
            .unwrap_err()
            .contains("one object"));
        assert!(read_file("x.json", b"{\"a\": ")
            .unwrap_err()
            .contains("not a JSON object"));
    }
}
