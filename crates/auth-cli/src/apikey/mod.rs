//! `auth apikey`: the key format offline ([`mod@format`]: generate, check), and keys in
//! `auth serve`'s store ([`lifecycle`]: create, revoke, rotate).

mod format;
mod lifecycle;

use std::num::NonZeroU32;
use std::time::Duration;

use auth_apikey::RateQuota;

use crate::output::{Error, Output};
use crate::store::DatabaseArgs;

pub(crate) use lifecycle::issued_json;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ApikeyCommand {
    /// A new checksummed API key (shown once) and the record a store keeps.
    Generate {
        /// The key prefix naming its kind and environment, for example `sk_live`.
        #[arg(long, value_name = "PFX")]
        prefix: String,
    },
    /// Check a key's format and checksum offline: `-` reads it from standard input.
    Check {
        /// `-` to read the key from standard input (a key on the command line is refused:
        /// `ps` would show it).
        #[arg(value_name = "-", conflicts_with = "key_env")]
        key: Option<String>,
        /// Read the key from this environment variable (or the file named by `VAR_FILE`).
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
    },
    /// Add a key to `auth serve`'s store and print it once.
    Create {
        /// The server's data directory (made by `auth serve --data DIR`; it must exist, with
        /// its pepper, unless --init).
        #[arg(long, value_name = "DIR")]
        data: std::path::PathBuf,
        /// Create --data (and a new pepper) if it does not exist yet.
        #[arg(long)]
        init: bool,
        /// Who the key speaks for (the principal's subject).
        #[arg(long, value_name = "NAME")]
        subject: String,
        /// A name for people (default: the subject).
        #[arg(long)]
        name: Option<String>,
        /// A scope to grant (repeat for several).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// How many requests the key may authenticate in all (default: no limit).
        #[arg(long, value_name = "N")]
        max_uses: Option<u64>,
        /// The key's own rate limit, N requests per SECS seconds (`2/60`), enforced by `auth
        /// serve` on the API in place of its `rate_limit` (default: that shared default).
        #[arg(long, value_name = "N/SECS", value_parser = parse_rate)]
        rate: Option<RateQuota>,
        /// Where the keys live (default: SQLite in --data).
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a key in `auth serve`'s store: requests with it, and the access tokens issued
    /// to it, are refused from now on (across a PostgreSQL fleet within its max_stale).
    Revoke {
        /// The key's id (the OAuth client id `create` printed; never the key itself).
        #[arg(value_name = "ID")]
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate a key: issue its successor (printed once) with the same subject, name, scopes
    /// and rate, and let the old key work for --overlap more seconds.
    Rotate {
        /// The key's id.
        #[arg(value_name = "ID")]
        id: String,
        /// How long the old key keeps working, in seconds (0: refused at once).
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        overlap: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which store a key command works on: `auth serve`'s data directory, and its database.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The server's data directory (made by `auth serve --data DIR`, with its pepper).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: std::path::PathBuf,
    /// Where the keys live (default: SQLite in --data).
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

/// Runs an `auth apikey` command.
pub(crate) async fn run(command: ApikeyCommand, out: Output) -> Result<(), Error> {
    match command {
        ApikeyCommand::Generate { prefix } => format::generate(&prefix, out),
        ApikeyCommand::Check { key, key_env } => {
            let input = match (key.as_deref(), key_env.as_deref()) {
                (Some("-"), None) => format::KeyInput::Stdin,
                (None, Some(var)) => format::KeyInput::Env(var),
                (Some(_), _) => {
                    return Err(Error::config(
                        "refusing a key on the command line (`ps` shows it): pipe it to \
                         `auth apikey check -` or use --key-env VAR",
                    ));
                }
                (None, None) => return Err(Error::config("give `-` or --key-env VAR")),
            };
            format::check(input, out)
        }
        ApikeyCommand::Create {
            data,
            subject,
            name,
            scopes,
            max_uses,
            rate,
            database,
            init,
        } => {
            let settings = lifecycle::Settings {
                subject: &subject,
                name: name.as_deref(),
                scopes: &scopes,
                max_uses,
                rate,
            };
            lifecycle::create(&data, settings, &database, init, out).await
        }
        ApikeyCommand::Revoke { id, store } => lifecycle::revoke(&id, &store, out).await,
        ApikeyCommand::Rotate { id, overlap, store } => {
            lifecycle::rotate(&id, std::time::Duration::from_secs(overlap), &store, out).await
        }
    }
}

/// `--rate N/SECS`: N requests per SECS seconds, both whole numbers from 1, and a quota the
/// rate limiter can enforce (at least a nanosecond between requests, a period under a
/// century). A refusal is a usage error (exit 2), in clap's words.
fn parse_rate(text: &str) -> Result<RateQuota, String> {
    let malformed =
        || "expected N/SECS, two whole numbers from 1 (2/60: 2 requests per 60 seconds)".to_owned();
    let (n, secs) = text.split_once('/').ok_or_else(malformed)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || !digits(secs) {
        return Err(malformed());
    }
    let n = n.parse::<u32>().ok().and_then(NonZeroU32::new);
    let secs = secs.parse::<u64>().ok().filter(|&s| s > 0);
    let (Some(n), Some(secs)) = (n, secs) else {
        return Err(format!(
            "{} (N at most {}, neither zero)",
            malformed(),
            u32::MAX
        ));
    };
    let period = Duration::from_secs(secs);
    auth_ratelimit::Quota::new(n.get(), period).map_err(|e| e.to_string())?;
    RateQuota::new(n, period).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_written_and_nonsense_is_refused() {
        let q = parse_rate("2/60").unwrap();
        assert_eq!(
            (q.requests().get(), q.period()),
            (2, Duration::from_secs(60))
        );
        assert_eq!(q.burst().get(), 2);
        for bad in [
            "",
            "2",
            "2/",
            "/60",
            "0/60",
            "2/0",
            "-1/60",
            "+2/60",
            "2/60s",
            " 2/60",
            "2.5/60",
            "2/60/1",
            "4294967296/60",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad:?} accepted");
        }
        // More than one request a nanosecond, or a period of centuries: no limiter takes it.
        let err = parse_rate("4000000000/1").unwrap_err();
        assert!(err.contains("nanosecond"), "{err}");
        assert!(parse_rate("1/18446744073709551615").is_err());
    }
}
