//! Responses whose JSON is already text. Stored entities are sent as stored: parsing them
//! only to serialize them again was most of the time of a catalog lookup or page.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A response body that is JSON text already.
pub struct JsonText(pub String);

impl IntoResponse for JsonText {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// A JSON array of JSON texts.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}
