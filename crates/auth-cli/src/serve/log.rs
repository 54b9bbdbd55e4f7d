//! Structured logs: one line per event on standard error, with a timestamp, an event name and
//! fields: a JSON object (the default), or `ts event key=value ...` (`--log-format text`).
//! Callers pass subjects, ids, paths and reasons, never a key or a token.
//!
//! Lines are appended to one buffer in memory; a writer thread, woken by the first line of a
//! batch, waits [`INTERVAL`] and writes everything buffered by then in one system call. Under
//! load one `write` carries hundreds of lines instead of one per request (the write per line
//! was 5% of the gateway's time at 64 connections, and a request's task no longer waits for
//! the kernel), and the thread wakes at most once per interval, not once per line. A caller
//! that finds [`MAX_BUFFER`] bytes waiting writes them itself rather than drop a line;
//! [`Log::flush`] writes what is buffered, and the server calls it before it exits.

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;

use crate::time;

/// How long the writer lets lines gather after the first one of a batch.
const INTERVAL: Duration = Duration::from_millis(10);
/// Buffered bytes past which the caller writes the buffer out itself.
const MAX_BUFFER: usize = 1024 * 1024;

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
static BUFFER: Buffer = Buffer::new();
static WRITER: OnceLock<()> = OnceLock::new();

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
        WRITER.get_or_init(|| {
            let started = std::thread::Builder::new()
                .name("auth-log".into())
                .spawn(|| BUFFER.write_batches(&mut std::io::stderr()));
            // Without a writer thread every caller writes its own line.
            BUFFER.direct(started.is_err());
        });
        BUFFER.push(&line, &mut std::io::stderr());
    }

    /// Writes every line logged so far.
    pub(crate) fn flush() {
        BUFFER.write_out(&mut std::io::stderr());
    }
}

/// Lines waiting for the writer, and the order they leave in.
struct Buffer {
    lines: Mutex<Lines>,
    /// Signalled when a line lands in an empty buffer.
    filled: Condvar,
    /// Held while a batch is taken and written, so batches leave in the order taken.
    writing: Mutex<()>,
}

struct Lines {
    bytes: Vec<u8>,
    /// No writer thread: each caller writes its own line.
    direct: bool,
}

impl Buffer {
    const fn new() -> Self {
        Self {
            lines: Mutex::new(Lines {
                bytes: Vec::new(),
                direct: false,
            }),
            filled: Condvar::new(),
            writing: Mutex::new(()),
        }
    }

    fn lines(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn direct(&self, direct: bool) {
        self.lines().direct = direct;
    }

    /// Appends `line`; wakes the writer if it is the first of a batch, or writes the buffer
    /// out here when it is full or there is no writer.
    fn push(&self, line: &str, out: &mut impl Write) {
        let mut lines = self.lines();
        let first = lines.bytes.is_empty();
        lines.bytes.extend_from_slice(line.as_bytes());
        lines.bytes.push(b'\n');
        let now = lines.direct || lines.bytes.len() >= MAX_BUFFER;
        drop(lines);
        if now {
            self.write_out(out);
        } else if first {
            self.filled.notify_one();
        }
    }

    /// Takes what is buffered and writes it, in order with every other batch.
    fn write_out(&self, out: &mut impl Write) {
        let _turn = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = std::mem::take(&mut self.lines().bytes);
        if !batch.is_empty() {
            let _ = out.write_all(&batch);
            let _ = out.flush();
        }
    }

    /// The writer thread: sleeps until a batch starts, lets it gather, writes it; forever.
    fn write_batches(&self, out: &mut impl Write) {
        loop {
            let mut lines = self.lines();
            while lines.bytes.is_empty() {
                lines = self
                    .filled
                    .wait(lines)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            drop(lines);
            std::thread::sleep(INTERVAL);
            self.write_out(out);
        }
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

/// `{"ts":…,"event":…,` then the fields in their order, written straight into one string
/// (no map of copies: this runs once per request).
fn line(now: u64, event: &str, fields: &[(&str, Value)]) -> String {
    let mut out = Vec::with_capacity(192);
    out.extend_from_slice(b"{\"ts\":\"");
    out.extend_from_slice(time::date(now).as_bytes());
    out.extend_from_slice(b"\",\"event\":");
    // Writing JSON into a Vec cannot fail: serde_json errors only from the writer.
    let _ = serde_json::to_writer(&mut out, event);
    for (k, v) in fields {
        out.push(b',');
        let _ = serde_json::to_writer(&mut out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, v);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
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
            r#"{"ts":"1970-01-01T00:00:00Z","event":"request","status":200,"path":"/a\nb"}"#
        );
        let parsed: Value = serde_json::from_str(&l).expect("JSON");
        assert_eq!(parsed["path"], "/a\nb");
    }

    #[test]
    fn lines_wait_in_order_until_written_out() {
        let buffer = Buffer::new();
        let mut out = Vec::new();
        for i in 0..3 {
            buffer.push(&format!("line {i}"), &mut out);
        }
        assert!(out.is_empty(), "buffered, not written yet");
        buffer.write_out(&mut out);
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "line 0\nline 1\nline 2\n"
        );
    }

    #[test]
    fn a_full_buffer_or_no_writer_is_written_by_the_caller() {
        let buffer = Buffer::new();
        let mut out = Vec::new();
        let long = "x".repeat(MAX_BUFFER / 2);
        buffer.push(&long, &mut out);
        assert!(out.is_empty());
        buffer.push(&long, &mut out);
        assert_eq!(
            out.len(),
            2 * (long.len() + 1),
            "both lines, written by the caller"
        );
        let direct = Buffer::new();
        direct.direct(true);
        let mut out = Vec::new();
        direct.push("one", &mut out);
        assert_eq!(out, b"one\n");
    }
}
