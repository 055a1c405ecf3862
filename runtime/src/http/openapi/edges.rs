//! Answers every operation can give at the API's edges — a path or query
//! parameter that cannot be read, two `Authorization` headers, a body that
//! is not JSON — documented once here rather than on each handler, so that
//! no operation can forget them.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};

const MALFORMED: &str = "Malformed: a path or query parameter that cannot be read (not UTF-8 once decoded, or given twice), or two `Authorization` headers";
const NOT_JSON: &str = "The body is not declared as JSON: send `Content-Type: application/json`";

pub fn document(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            operation(op);
        }
    }
}

fn operation(op: &mut Operation) {
    let has_params = op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query),
        RefOr::Ref(_) => true,
    });
    if has_params || op.security.is_some() {
        add(op, "400", MALFORMED);
    }
    let takes_json = matches!(&op.request_body, Some(RefOr::T(body)) if body.content.contains_key("application/json"));
    if takes_json {
        add(op, "415", NOT_JSON);
    }
}

/// Adds an error answer unless the operation documents that status itself.
fn add(op: &mut Operation, status: &str, description: &str) {
    let error_body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", error_body)
                .build()
                .into()
        });
}
