//! The signature algorithms auth-jwt verifies and signs with. `none` is not one of them: it
//! cannot be named, so it cannot be allowed.

use std::fmt;

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037 §3.1).
///
/// There is deliberately no `none`: an unsecured JWS can never be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512 (with the `aws-lc-rs` backend only: jsonwebtoken has no
    /// ES512, so auth-jwt signs and verifies it with aws-lc-rs directly).
    ES512,
    /// EdDSA on Ed25519.
    EdDSA,
}

/// The kind of key an algorithm needs. A key of one family is never used with an algorithm of
/// another: an RSA public key is never an HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// Shared secrets (`kty: oct`).
    Hmac,
    /// RSA keys (`kty: RSA`).
    Rsa,
    /// Elliptic-curve keys (`kty: EC`).
    Ec,
    /// Edwards-curve keys (`kty: OKP`).
    Ed,
}

impl Algorithm {
    /// Every algorithm, in a stable order.
    pub const ALL: [Self; 13] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::EdDSA,
    ];

    /// The name in a JWS header, exactly as RFC 7518 spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses a header's `alg`: exact, case-sensitive names only (RFC 7515 §4.1.1), so
    /// `"none"`, `"None"`, `"hs256"` are all `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The key family this algorithm needs.
    pub const fn family(self) -> Family {
        match self {
            Self::HS256 | Self::HS384 | Self::HS512 => Family::Hmac,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                Family::Rsa
            }
            Self::ES256 | Self::ES384 | Self::ES512 => Family::Ec,
            Self::EdDSA => Family::Ed,
        }
    }

    /// For HMAC, the minimum key length in bytes (the hash size, RFC 7518 §3.2).
    pub const fn min_hmac_key_len(self) -> Option<usize> {
        match self {
            Self::HS256 => Some(32),
            Self::HS384 => Some(48),
            Self::HS512 => Some(64),
            _ => None,
        }
    }

    /// The curve an elliptic algorithm needs, as a JWK `crv`.
    pub const fn curve(self) -> Option<&'static str> {
        match self {
            Self::ES256 => Some("P-256"),
            Self::ES384 => Some("P-384"),
            Self::ES512 => Some("P-521"),
            Self::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    /// jsonwebtoken's name for this algorithm; `None` for ES512, which it lacks.
    pub(crate) const fn to_jwt(self) -> Option<jsonwebtoken::Algorithm> {
        use jsonwebtoken::Algorithm as J;
        Some(match self {
            Self::HS256 => J::HS256,
            Self::HS384 => J::HS384,
            Self::HS512 => J::HS512,
            Self::RS256 => J::RS256,
            Self::RS384 => J::RS384,
            Self::RS512 => J::RS512,
            Self::PS256 => J::PS256,
            Self::PS384 => J::PS384,
            Self::PS512 => J::PS512,
            Self::ES256 => J::ES256,
            Self::ES384 => J::ES384,
            Self::EdDSA => J::EdDSA,
            Self::ES512 => return None,
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Family {
    /// The algorithms of this family.
    pub fn algorithms(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| a.family() == self)
    }

    /// The JWK `kty` of this family.
    pub const fn kty(self) -> &'static str {
        match self {
            Self::Hmac => "oct",
            Self::Rsa => "RSA",
            Self::Ec => "EC",
            Self::Ed => "OKP",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_unnameable() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.as_str()), Some(a));
        }
        for bad in [
            "none", "None", "NONE", "nOnE", "hs256", "HS256 ", "", "ES521",
        ] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn families_partition_the_algorithms() {
        let n: usize = [Family::Hmac, Family::Rsa, Family::Ec, Family::Ed]
            .into_iter()
            .map(|f| f.algorithms().count())
            .sum();
        assert_eq!(n, Algorithm::ALL.len());
    }
}
