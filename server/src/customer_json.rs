//! Reading a customer out of a JSON object with the shared validation rules,
//! as `POST /set` and `import` both do.

use app::domain::{Customer, FieldValue, ValidationErrors};
use serde_json::{Map, Value};

/// Validates the three fields of a JSON object; other fields are ignored.
pub fn customer_from_object(fields: &Map<String, Value>) -> Result<Customer, ValidationErrors> {
    let field = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => FieldValue::Absent,
        Some(Value::String(text)) => FieldValue::Text(text),
        Some(_) => FieldValue::NotText,
    };
    Customer::validate(field("customerID"), field("firstName"), field("lastName"))
}
