//! A Structured Field List parser (RFC 9651 §4.2), enough to read `RateLimit` and
//! `RateLimit-Policy` on the client side: every bare item type, parameters, inner lists.
//!
//! A parse failure anywhere fails the whole field, as RFC 9651 requires; callers then ignore
//! the field.

/// A bare item (RFC 9651 §3.3).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bare {
    Integer(i64),
    Decimal(f64),
    String(String),
    Token(String),
    Bytes(String),
    Boolean(bool),
    Date(i64),
    DisplayString(String),
}

/// A list member: an item or an inner list, with its parameters (later duplicates already
/// overwrote earlier ones, RFC 9651 §4.2.3.2).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member {
    /// `None` for an inner list.
    pub(crate) item: Option<Bare>,
    pub(crate) params: Vec<(String, Bare)>,
}

impl Member {
    pub(crate) fn param(&self, key: &str) -> Option<&Bare> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Parses a List; `None` on any syntax error or an empty field.
pub(crate) fn parse_list(input: &str) -> Option<Vec<Member>> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    p.skip_sp();
    let mut out = Vec::new();
    while p.i < p.s.len() {
        out.push(p.member()?);
        p.skip_ows();
        if p.i == p.s.len() {
            return Some(out);
        }
        if p.next()? != b',' {
            return None;
        }
        p.skip_ows();
        if p.i == p.s.len() {
            return None; // trailing comma
        }
    }
    (!out.is_empty()).then_some(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn member(&mut self) -> Option<Member> {
        let item = if self.peek() == Some(b'(') {
            self.inner_list()?;
            None
        } else {
            Some(self.bare()?)
        };
        Some(Member {
            item,
            params: self.params()?,
        })
    }

    fn inner_list(&mut self) -> Option<()> {
        self.next();
        loop {
            self.skip_sp();
            if self.peek() == Some(b')') {
                self.i += 1;
                return Some(());
            }
            self.bare()?;
            self.params()?;
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return None;
            }
        }
    }

    fn params(&mut self) -> Option<Vec<(String, Bare)>> {
        let mut params: Vec<(String, Bare)> = Vec::new();
        while self.peek() == Some(b';') {
            self.i += 1;
            self.skip_sp();
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.i += 1;
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            match params.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => params.push((key, value)),
            }
        }
        Some(params)
    }

    fn key(&mut self) -> Option<String> {
        let start = self.i;
        match self.peek()? {
            b'a'..=b'z' | b'*' => self.i += 1,
            _ => return None,
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.i += 1;
        }
        Some(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare(&mut self) -> Option<Bare> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => self.string().map(Bare::String),
            b':' => self.bytes(),
            b'?' => {
                self.i += 1;
                match self.next()? {
                    b'0' => Some(Bare::Boolean(false)),
                    b'1' => Some(Bare::Boolean(true)),
                    _ => None,
                }
            }
            b'@' => {
                self.i += 1;
                match self.number()? {
                    Bare::Integer(n) => Some(Bare::Date(n)),
                    _ => None,
                }
            }
            b'%' => {
                self.i += 1;
                self.string().map(Bare::DisplayString)
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'*' => Some(Bare::Token(self.token())),
            _ => None,
        }
    }

    fn token(&mut self) -> String {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c);
            if !tchar {
                break;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn number(&mut self) -> Option<Bare> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let start = self.i;
        let mut dot = None;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' => self.i += 1,
                b'.' if dot.is_none() && self.i > start => {
                    dot = Some(self.i);
                    self.i += 1;
                }
                _ => break,
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        if text.is_empty() || !text.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        match dot {
            None => {
                if text.len() > 15 {
                    return None;
                }
                let n: i64 = text.parse().ok()?;
                Some(Bare::Integer(if negative { -n } else { n }))
            }
            Some(d) => {
                let (int, frac) = (d - start, self.i - d - 1);
                if int > 12 || frac == 0 || frac > 3 {
                    return None;
                }
                let n: f64 = text.parse().ok()?;
                Some(Bare::Decimal(if negative { -n } else { n }))
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.next(); // opening quote (or the `%"` display string's quote)
        let mut out = String::new();
        loop {
            match self.next()? {
                b'\\' => match self.next()? {
                    c @ (b'"' | b'\\') => out.push(char::from(c)),
                    _ => return None,
                },
                b'"' => return Some(out),
                c @ 0x20..=0x7e => out.push(char::from(c)),
                _ => return None,
            }
        }
    }

    fn bytes(&mut self) -> Option<Bare> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.next() {
            match c {
                b':' => {
                    let b64 = String::from_utf8_lossy(&self.s[start..self.i - 1]).into_owned();
                    return Some(Bare::Bytes(b64));
                }
                c if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') => {}
                _ => return None,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let l = parse_list(r#""a";q=10;w=1, "b";q=5;flag, (1 2);x=?0"#).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].item, Some(Bare::String("a".into())));
        assert_eq!(l[0].param("q"), Some(&Bare::Integer(10)));
        assert_eq!(l[1].param("flag"), Some(&Bare::Boolean(true)));
        assert_eq!(l[2].item, None);
        for bad in [
            "",
            "a,",
            "\"a\";Q=1",
            "\"unterminated",
            "1.",
            "1.2345",
            "\"a\" \"b\"",
        ] {
            assert_eq!(parse_list(bad), None, "{bad}");
        }
        assert_eq!(parse_list("1.5, -3, :YQ==:, @12, %\"x\"").unwrap().len(), 5);
    }
}
