use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Longest accepted `customerID`, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Longest accepted first or last name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 200;

/// A customer record. The JSON field names are the original app's and never change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(rename = "customerID")]
    pub id: String,
    #[serde(rename = "firstName")]
    pub first_name: String,
    #[serde(rename = "lastName")]
    pub last_name: String,
}

/// The three fields of a customer, in the order they are validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Field {
    CustomerId,
    FirstName,
    LastName,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::CustomerId, Field::FirstName, Field::LastName];

    /// The field's name for people, as the form labels it.
    pub fn label(self) -> &'static str {
        match self {
            Field::CustomerId => "Customer ID",
            Field::FirstName => "First name",
            Field::LastName => "Last name",
        }
    }

    /// The field's name in JSON bodies and form posts.
    pub fn json_name(self) -> &'static str {
        match self {
            Field::CustomerId => "customerID",
            Field::FirstName => "firstName",
            Field::LastName => "lastName",
        }
    }

    /// The longest value the field takes, in characters (names: once trimmed).
    pub fn max_chars(self) -> usize {
        match self {
            Field::CustomerId => MAX_ID_CHARS,
            Field::FirstName | Field::LastName => MAX_NAME_CHARS,
        }
    }

    /// The rule `text` breaks in this field, if any: the very check saving runs,
    /// for a form to run while the user types.
    pub fn check(self, text: &str) -> Option<FieldError> {
        check_field(self, FieldValue::Text(text))
            .err()
            .map(|problem| FieldError {
                field: self,
                problem,
            })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json_name())
    }
}

/// One field's value as a client sent it, before validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// The field was missing or `null`.
    Absent,
    Text(&'a str),
    /// Present but not a string (a number, an object, ...).
    NotText,
}

/// What a client submitted for a customer, kept as typed so a form can be
/// shown again with the user's input after a validation error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDraft {
    #[serde(rename = "customerID", default)]
    pub id: Option<String>,
    #[serde(rename = "firstName", default)]
    pub first_name: Option<String>,
    #[serde(rename = "lastName", default)]
    pub last_name: Option<String>,
}

impl CustomerDraft {
    pub fn validate(&self) -> Result<Customer, ValidationErrors> {
        fn text(value: &Option<String>) -> FieldValue<'_> {
            value
                .as_deref()
                .map_or(FieldValue::Absent, FieldValue::Text)
        }
        Customer::validate(
            text(&self.id),
            text(&self.first_name),
            text(&self.last_name),
        )
    }
}

impl From<&Customer> for CustomerDraft {
    fn from(customer: &Customer) -> Self {
        Self {
            id: Some(customer.id.clone()),
            first_name: Some(customer.first_name.clone()),
            last_name: Some(customer.last_name.clone()),
        }
    }
}

/// A rule one field broke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: Field,
    pub problem: Problem,
}

/// What is wrong with a field's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    Required,
    NotText,
    ControlCharacters,
    SurroundingWhitespace,
    InvisibleCharacters,
    Slash,
    TooLong {
        max: usize,
        given: usize,
    },
    /// A new customer's ID that another customer has.
    Taken(String),
}

impl FieldError {
    /// The message of the JSON API, which programs may already match on: it
    /// names the field by its JSON key ("firstName required").
    pub fn message(&self) -> String {
        let field = self.field;
        match &self.problem {
            Problem::Required => format!("{field} required"),
            Problem::NotText => format!("{field} must be a string"),
            Problem::ControlCharacters => format!("{field} must not contain control characters"),
            Problem::SurroundingWhitespace => {
                format!("{field} must not start or end with whitespace")
            }
            Problem::InvisibleCharacters => format!(
                "{field} must not contain invisible formatting characters \
                 (zero-width spaces, direction marks, byte-order marks)"
            ),
            Problem::Slash => format!("{field} must not contain '/'"),
            Problem::TooLong { max, .. } => format!("{field} must be at most {max} characters"),
            Problem::Taken(id) => format!("{field} “{id}” is already taken"),
        }
    }

    /// The message the UI shows beside the field, in plain language.
    pub fn user_message(&self) -> String {
        let label = self.field.label();
        match &self.problem {
            Problem::Required => format!("{label} is required"),
            Problem::NotText => format!("{label} must be text"),
            Problem::ControlCharacters => {
                format!("{label} cannot contain tabs, line breaks or other control characters")
            }
            Problem::SurroundingWhitespace => format!("{label} cannot start or end with a space"),
            Problem::InvisibleCharacters => format!(
                "{label} cannot contain invisible characters \
                 (zero-width spaces, direction marks)"
            ),
            Problem::Slash => format!("{label} cannot contain “/”"),
            Problem::TooLong { max, given } => {
                format!("{label} can be at most {max} characters; this one has {given}")
            }
            Problem::Taken(id) => format!("Customer ID “{id}” is already taken"),
        }
    }
}

/// Every rule the submitted fields broke, in field order (`customerID` first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// The rule one field broke, if any.
    pub fn for_field(&self, field: Field) -> Option<&FieldError> {
        self.0.iter().find(|error| error.field == field)
    }

    /// Every rule broken, in the UI's plain words, one after another.
    pub fn user_messages(&self) -> String {
        let messages: Vec<String> = self.0.iter().map(FieldError::user_message).collect();
        messages.join("; ")
    }

    /// The first error in field order: what the legacy API reports.
    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<String> = self.0.iter().map(FieldError::message).collect();
        f.write_str(&messages.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

impl Customer {
    /// How people see the customer: "James Baker (a)".
    pub fn display_name(&self) -> String {
        format!("{} {} ({})", self.first_name, self.last_name, self.id)
    }

    /// The one validation used by the UI, the server functions, the JSON API and import.
    ///
    /// Every text is NFC-normalised, so the composed and decomposed forms of "José"
    /// are one customer. Names are trimmed; IDs are keys clients already use, so an
    /// ID that would not survive as typed (surrounding whitespace, invisible
    /// characters) is rejected rather than silently changed.
    pub fn validate(
        id: FieldValue<'_>,
        first_name: FieldValue<'_>,
        last_name: FieldValue<'_>,
    ) -> Result<Customer, ValidationErrors> {
        let mut errors = Vec::new();
        let mut check = |field: Field, value: FieldValue<'_>| -> Option<String> {
            match check_field(field, value) {
                Ok(text) => Some(text),
                Err(problem) => {
                    errors.push(FieldError { field, problem });
                    None
                }
            }
        };
        let id = check(Field::CustomerId, id);
        let first_name = check(Field::FirstName, first_name);
        let last_name = check(Field::LastName, last_name);
        match (id, first_name, last_name) {
            (Some(id), Some(first_name), Some(last_name)) => Ok(Customer {
                id,
                first_name,
                last_name,
            }),
            _ => Err(ValidationErrors(errors)),
        }
    }
}

/// The keys under which a customer asked for by `id` may be stored, best first:
/// the NFC form that every write stores, then the ID exactly as given, so records
/// stored before IDs were normalised stay readable and deletable.
pub fn lookup_keys(id: &str) -> Vec<Cow<'_, str>> {
    let normalised = nfc(id);
    if normalised == id {
        vec![normalised]
    } else {
        vec![normalised, Cow::Borrowed(id)]
    }
}

/// How many characters `text` has as it is stored (NFC): what the length
/// rules count, so what the forms' counters show.
pub fn length_in_chars(text: &str) -> usize {
    nfc(text).chars().count()
}

#[cfg(not(feature = "hydrate"))]
fn nfc(text: &str) -> Cow<'_, str> {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfc().collect()),
    }
}

/// In the browser, where [`check_field`] runs for the forms' live hints, the
/// browser's own normalisation (`String.prototype.normalize`): Unicode's
/// composition tables were 63 KB of the 503 KB gzipped wasm. Text pasted
/// decomposed (an e and a combining accent, as macOS writes names) is then
/// counted as the server counts it.
#[cfg(feature = "hydrate")]
fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let normalised = String::from(js_sys::JsString::from(text).normalize("NFC"));
    if normalised == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(normalised)
    }
}

/// Unicode category Cf: zero-width spaces and joiners, direction marks and
/// overrides, the BOM, tag characters. Invisible, so two IDs differing only by
/// them would look identical.
fn is_invisible_format(c: char) -> bool {
    c >= '\u{AD}'
        && FORMAT_CHARACTERS
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
}

/// Category Cf as ranges, so that the browser's bundle (which checks IDs as
/// they are typed) carries no Unicode category tables. A test checks them
/// against the `unicode-properties` crate, character by character.
const FORMAT_CHARACTERS: [(char, char); 21] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Checks one field and returns the value to store, or what is wrong with it.
fn check_field(field: Field, value: FieldValue<'_>) -> Result<String, Problem> {
    let text = match value {
        FieldValue::Absent => return Err(Problem::Required),
        FieldValue::NotText => return Err(Problem::NotText),
        FieldValue::Text(text) => text,
    };
    if text.trim().is_empty() {
        return Err(Problem::Required);
    }
    if text.chars().any(char::is_control) {
        return Err(Problem::ControlCharacters);
    }
    let text = nfc(text);
    // `text` is NFC already: counted as `length_in_chars` counts, without
    // normalising twice.
    let too_long = |text: &str, max: usize| {
        let given = text.chars().count();
        (given > max).then_some(Problem::TooLong { max, given })
    };
    match field {
        Field::CustomerId => {
            if text.trim() != text {
                return Err(Problem::SurroundingWhitespace);
            }
            if text.chars().any(is_invisible_format) {
                return Err(Problem::InvisibleCharacters);
            }
            if text.contains('/') {
                return Err(Problem::Slash);
            }
            match too_long(&text, MAX_ID_CHARS) {
                Some(problem) => Err(problem),
                None => Ok(text.into_owned()),
            }
        }
        Field::FirstName | Field::LastName => {
            let trimmed = text.trim();
            match too_long(trimmed, MAX_NAME_CHARS) {
                Some(problem) => Err(problem),
                None => Ok(trimmed.to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldValue::{Absent, NotText, Text};

    fn messages(id: FieldValue, first: FieldValue, last: FieldValue) -> Vec<String> {
        match Customer::validate(id, first, last) {
            Ok(_) => vec![],
            Err(errors) => errors.0.iter().map(FieldError::message).collect(),
        }
    }

    #[test]
    fn the_format_ranges_are_unicode_category_cf_exactly() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                is_invisible_format(c),
                c.general_category() == GeneralCategory::Format,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn a_field_is_checked_alone_as_saving_checks_it() {
        assert_eq!(Field::FirstName.check("  Ada "), None);
        assert_eq!(
            Field::CustomerId.check(" a").map(|e| e.problem),
            Some(Problem::SurroundingWhitespace)
        );
        let long = "n".repeat(MAX_NAME_CHARS + 5);
        assert_eq!(
            Field::LastName.check(&long).map(|e| e.problem),
            Some(Problem::TooLong {
                max: MAX_NAME_CHARS,
                given: MAX_NAME_CHARS + 5
            })
        );
        assert_eq!(Field::CustomerId.max_chars(), MAX_ID_CHARS);
    }

    #[test]
    fn accepts_a_valid_customer_and_trims_names_only() {
        let customer = Customer::validate(Text("a b"), Text("  James "), Text("Baker")).unwrap();
        assert_eq!(customer.id, "a b");
        assert_eq!(customer.first_name, "James");
        assert_eq!(customer.last_name, "Baker");
    }

    #[test]
    fn missing_null_and_blank_fields_are_required_in_field_order() {
        assert_eq!(
            messages(Absent, Absent, Absent),
            [
                "customerID required",
                "firstName required",
                "lastName required"
            ]
        );
        assert_eq!(
            messages(Text("a"), Text("   "), Text("x")),
            ["firstName required"]
        );
        assert_eq!(
            messages(Text(""), Text("x"), Text("\t")),
            ["customerID required", "lastName required"]
        );
        assert_eq!(
            messages(Text("a"), Text("b"), Absent),
            ["lastName required"]
        );
    }

    #[test]
    fn non_strings_are_rejected_by_name() {
        assert_eq!(
            messages(NotText, NotText, NotText),
            [
                "customerID must be a string",
                "firstName must be a string",
                "lastName must be a string"
            ]
        );
    }

    #[test]
    fn id_rules() {
        assert_eq!(
            messages(Text("a/b"), Text("x"), Text("y")),
            ["customerID must not contain '/'"]
        );
        assert_eq!(
            messages(Text("a\nb"), Text("x"), Text("y")),
            ["customerID must not contain control characters"]
        );
        assert_eq!(
            messages(Text("a\u{7f}"), Text("x"), Text("y")),
            ["customerID must not contain control characters"]
        );
        let longest = "é".repeat(MAX_ID_CHARS);
        assert!(messages(Text(&longest), Text("x"), Text("y")).is_empty());
        let too_long = "a".repeat(MAX_ID_CHARS + 1);
        assert_eq!(
            messages(Text(&too_long), Text("x"), Text("y")),
            ["customerID must be at most 128 characters"]
        );
    }

    #[test]
    fn look_alike_ids_are_rejected_naming_the_rule() {
        let surrounding = "customerID must not start or end with whitespace";
        assert_eq!(messages(Text("a "), Text("x"), Text("y")), [surrounding]);
        assert_eq!(messages(Text(" a"), Text("x"), Text("y")), [surrounding]);
        assert_eq!(
            messages(Text("a\u{3000}"), Text("x"), Text("y")),
            [surrounding]
        );
        for invisible in [
            "al\u{200b}ice",
            "\u{feff}a",
            "a\u{202e}b",
            "a\u{2066}",
            "a\u{e0041}",
        ] {
            let got = messages(Text(invisible), Text("x"), Text("y"));
            assert_eq!(got.len(), 1, "{invisible:?}");
            assert!(got[0].contains("invisible"), "{invisible:?}: {got:?}");
        }
        // An ID that is only a BOM is not blank to `trim`, but it is invisible.
        assert_eq!(messages(Text("\u{feff}"), Text("x"), Text("y")).len(), 1);
    }

    #[test]
    fn composed_and_decomposed_forms_are_one_id_and_one_name() {
        let composed =
            Customer::validate(Text("Jos\u{e9}"), Text("Ren\u{e9}e"), Text("y")).unwrap();
        let decomposed =
            Customer::validate(Text("Jose\u{301}"), Text("Rene\u{301}e"), Text("y")).unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(decomposed.id, "Jos\u{e9}");
        assert_eq!(lookup_keys("Jose\u{301}"), ["Jos\u{e9}", "Jose\u{301}"]);
        assert_eq!(lookup_keys("plain"), ["plain"]);
    }

    #[test]
    fn name_rules() {
        let longest = format!("  {}  ", "ß".repeat(MAX_NAME_CHARS));
        assert!(messages(Text("a"), Text(&longest), Text(&longest)).is_empty());
        let too_long = "n".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            messages(Text("a"), Text(&too_long), Text("y")),
            ["firstName must be at most 200 characters"]
        );
        assert_eq!(
            messages(Text("a"), Text("x"), Text("y\u{0}")),
            ["lastName must not contain control characters"]
        );
        // A slash is fine in a name.
        assert!(messages(Text("a"), Text("A/B"), Text("Ünïcödé 名前")).is_empty());
    }

    #[test]
    fn draft_validation_uses_the_same_rules() {
        let draft = CustomerDraft {
            id: Some("x".into()),
            first_name: None,
            last_name: Some("y".into()),
        };
        let errors = draft.validate().unwrap_err();
        let first_name = errors.for_field(Field::FirstName).unwrap();
        assert_eq!(first_name.problem, Problem::Required);
        assert_eq!(errors.for_field(Field::CustomerId), None);
        assert_eq!(errors.first().unwrap().message(), "firstName required");
    }

    #[test]
    fn people_read_labels_and_lengths_programs_read_keys() {
        let long = "x".repeat(300);
        let errors = Customer::validate(Text(""), Text(&long), Text("a\tb")).unwrap_err();
        let user: Vec<String> = errors.0.iter().map(FieldError::user_message).collect();
        assert_eq!(
            user,
            [
                "Customer ID is required",
                "First name can be at most 200 characters; this one has 300",
                "Last name cannot contain tabs, line breaks or other control characters",
            ]
        );
        assert_eq!(
            errors.to_string(),
            "customerID required; firstName must be at most 200 characters; \
             lastName must not contain control characters"
        );
    }

    #[test]
    fn json_field_names_are_the_original_ones() {
        let customer = Customer {
            id: "a".into(),
            first_name: "James".into(),
            last_name: "Baker".into(),
        };
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"customerID":"a","firstName":"James","lastName":"Baker"}"#
        );
    }
}
