//! Structured logs: one line per event on standard error, with a timestamp, an event name and
//! fields: a JSON object (the default), or `ts event key=value ...` (`--log-format text`).
//! Callers pass subjects, ids, paths and reasons, never a key or a token.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::output::stderr_line;
use crate::time;

/// The log sink.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Log;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// `2026-12-03T10:00:00Z request method=GET status=200 ...`, for people.
    Text,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

impl Log {
    /// Sets the format of every line from now on (the first call wins).
    pub(crate) fn set_format(format: LogFormat) {
        let _ = FORMAT.set(format);
    }

    /// Writes `{"ts": ..., "event": event, ...fields}`, or its text form.
    pub(crate) fn event(&self, event: &str, fields: &[(&str, Value)]) {
        let now = time::now_or(None);
        let line = match FORMAT.get().copied().unwrap_or_default() {
            LogFormat::Json => line(now, event, fields),
            LogFormat::Text => text_line(now, event, fields),
        };
        stderr_line(&line);
    }
}

/// `ts event key=value ...`: a string value bare when it is one plain word, JSON-quoted
/// otherwise (so a field cannot forge another).
fn text_line(now: u64, event: &str, fields: &[(&str, Value)]) -> String {
    let mut out = format!("{} {event}", time::date(now));
    for (k, v) in fields {
        let value = match v {
            Value::String(s)
                if !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_graphic() && c != '"' && c != '=') =>
            {
                s.clone()
            }
            other => other.to_string(),
        };
        out.push_str(&format!(" {k}={value}"));
    }
    out
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
    fn text_lines_quote_what_could_forge_a_field() {
        let l = text_line(
            0,
            "request",
            &[
                ("path", "/a".into()),
                ("why", "a b=c\n".into()),
                ("status", 200.into()),
            ],
        );
        assert_eq!(
            l,
            r#"1970-01-01T00:00:00Z request path=/a why="a b=c\n" status=200"#
        );
    }

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
