//! The RFC 9110 §11.6.1 challenge grammar, read by hand: byte offsets in errors, no
//! allocation for the common single `Bearer` challenge beyond its parameters.

use super::{Challenge, ParseError, is_tchar};

/// Every challenge of a `WWW-Authenticate` field value.
pub(super) fn all(input: &str) -> Result<Vec<Challenge>, ParseError> {
    let mut p = Parser::new(input);
    let mut out = Vec::new();
    loop {
        p.skip_list_separators();
        if p.at_end() {
            break;
        }
        out.push(p.challenge()?);
        p.skip_ows();
        if !p.at_end() && !p.eat(b',') {
            return Err(p.error("',' between challenges"));
        }
    }
    if out.is_empty() {
        return Err(p.error("a challenge"));
    }
    Ok(out)
}

/// Exactly one challenge-shaped value, such as an `Authorization` field.
pub(super) fn one(input: &str) -> Result<Challenge, ParseError> {
    let mut p = Parser::new(input);
    p.skip_ows();
    let c = p.challenge()?;
    p.skip_ows();
    if !p.at_end() {
        return Err(p.error("end of field"));
    }
    Ok(c)
}

fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &'static str) -> ParseError {
        ParseError {
            position: self.i,
            expected,
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    /// After the scheme and its spaces: is a token68 here (followed by OWS and `,` or end)?
    fn token68_len(&self) -> Option<usize> {
        let mut j = self.i;
        while self.b.get(j).copied().is_some_and(is_token68) {
            j += 1;
        }
        if j == self.i {
            return None;
        }
        while self.b.get(j) == Some(&b'=') {
            j += 1;
        }
        let len = j - self.i;
        while matches!(self.b.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match self.b.get(j) {
            None | Some(b',') => Some(len),
            _ => None,
        }
    }

    /// Lookahead: does an auth-param (`token BWS "="`) start here?
    fn param_ahead(&self) -> bool {
        let mut j = self.i;
        while self.b.get(j).copied().is_some_and(is_tchar) {
            j += 1;
        }
        if j == self.i {
            return false;
        }
        while matches!(self.b.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        self.b.get(j) == Some(&b'=')
    }

    fn challenge(&mut self) -> Result<Challenge, ParseError> {
        let scheme = self.token();
        if scheme.is_empty() {
            return Err(self.error("an auth-scheme"));
        }
        let mut c = Challenge {
            scheme: scheme.to_owned(),
            token68: None,
            params: Vec::new(),
        };
        let before_space = self.i;
        while self.eat(b' ') {}
        if self.at_end() || self.peek() == Some(b',') {
            return Ok(c);
        }
        if self.i == before_space {
            return Err(self.error("a space after the auth-scheme"));
        }
        if let Some(len) = self.token68_len() {
            c.token68 = Some(self.s[self.i..self.i + len].to_owned());
            self.i += len;
            return Ok(c);
        }
        loop {
            let name = self.token();
            if name.is_empty() {
                return Err(self.error("an auth-param name"));
            }
            self.skip_ows();
            if !self.eat(b'=') {
                return Err(self.error("'=' after the auth-param name"));
            }
            self.skip_ows();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()?
            } else {
                let v = self.token();
                if v.is_empty() {
                    return Err(self.error("a token or quoted-string value"));
                }
                v.to_owned()
            };
            if c.params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(self.error("each auth-param name only once"));
            }
            c.params.push((name.to_owned(), value));
            // A following list element is either another auth-param of this challenge or the
            // start of the next challenge.
            let save = self.i;
            self.skip_ows();
            if self.at_end() {
                return Ok(c);
            }
            if self.peek() != Some(b',') {
                return Err(self.error("',' between auth-params"));
            }
            self.skip_list_separators();
            if self.at_end() || !self.param_ahead() {
                self.i = save;
                return Ok(c);
            }
        }
    }

    fn quoted_string(&mut self) -> Result<String, ParseError> {
        // Caller has checked the opening quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || !(b == b'\t' || (0x20..=0x7e).contains(&b)) {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.s[start..self.i]);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || (0x20..=0x7e).contains(&b) => {
                            out.push(char::from(b));
                            self.i += 1;
                        }
                        _ => return Err(self.error("a visible character after '\\'")),
                    }
                }
                None => return Err(self.error("a closing '\"'")),
                Some(_) => return Err(self.error("visible ASCII inside a quoted-string")),
            }
        }
    }
}
