//! Structured logs: one JSON object per line on standard error, with a timestamp, an event
//! name and fields. Callers pass subjects, ids, paths and reasons, never a key or a token.

use serde_json::{Map, Value};

use crate::output::stderr_line;
use crate::time;

/// The log sink.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Log;

impl Log {
    /// Writes `{"ts": ..., "event": event, ...fields}`.
    pub(crate) fn event(&self, event: &str, fields: &[(&str, Value)]) {
        stderr_line(&line(time::now_or(None), event, fields));
    }
}

fn line(now: u64, event: &str, fields: &[(&str, Value)]) -> String {
    let mut map = Map::new();
    map.insert("ts".into(), time::date(now).into());
    map.insert("event".into(), event.into());
    for (k, v) in fields {
        map.insert((*k).to_owned(), v.clone());
    }
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_json_object_per_line() {
        let l = line(
            0,
            "request",
            &[("status", 200.into()), ("path", "/a\nb".into())],
        );
        assert_eq!(
            l,
            r#"{"event":"request","path":"/a\nb","status":200,"ts":"1970-01-01T00:00:00Z"}"#
        );
    }
}
