//! `auth apikey create | revoke | rotate`: keys in `auth serve`'s store (SQLite in `--data
//! DIR`, or PostgreSQL with `--database-env VAR`), with the server's pepper. A new key is
//! printed exactly once, alone on standard output (`KEY=$(auth apikey create ...)`), the
//! notes for people on standard error; keys are named by their id, never by the key.

use std::path::Path;
use std::time::Duration;

use auth_apikey::{ApiKeys, BoxKeyStore, KeyId, NewKey, RateQuota};
use auth_core::Scopes;
use serde_json::{Value, json};

use super::StoreArgs;
use crate::data::DataDir;
use crate::output::{Error, Output};
use crate::store::DatabaseArgs;
use crate::time;

/// What `create` makes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings<'a> {
    /// Who the key speaks for.
    pub(crate) subject: &'a str,
    /// A name for people (default: the subject).
    pub(crate) name: Option<&'a str>,
    /// The scopes it grants.
    pub(crate) scopes: &'a [String],
    /// How many requests it may authenticate in all.
    pub(crate) max_uses: Option<u64>,
    /// Its own rate limit (`--rate N/SECS`).
    pub(crate) rate: Option<RateQuota>,
}

/// `auth apikey create --data DIR`: a key in `auth serve`'s store, printed once. `DIR` must
/// be the server's (with its pepper) unless `init` asks to create it.
pub(crate) async fn create(
    data: &Path,
    settings: Settings<'_>,
    database: &DatabaseArgs,
    init: bool,
    out: Output,
) -> Result<(), Error> {
    for scope in settings.scopes {
        if !auth_core::principal::is_scope_token(scope) {
            return Err(Error::config(format!(
                "{scope:?} is not a scope (RFC 6749 §3.3)"
            )));
        }
    }
    let keys = DataDir::open_existing(data, init, database)?
        .api_keys(database)
        .await?;
    let subject = settings.subject;
    let mut new = NewKey::new(subject, settings.name.unwrap_or(subject))
        .with_scopes(Scopes::from_iter(settings.scopes));
    if let Some(uses) = settings.max_uses {
        new = new.with_max_uses(uses);
    }
    if let Some(rate) = settings.rate {
        new = new.with_rate_quota(rate);
    }
    let issued = keys.create(new).await.map_err(Error::config)?;
    out.result(&issued_json(&issued), || issued.expose_key().to_owned());
    let rate = settings
        .rate
        .map(|q| format!(", rate {}", rate_text(&q)))
        .unwrap_or_default();
    out.notice(&format!(
        "shown once: store it now. id {} (the OAuth client id), subject {subject}, scopes [{}]{rate}",
        issued.id().as_str(),
        settings.scopes.join(" ")
    ));
    Ok(())
}

/// The keys of the store `store` names, and `id` parsed.
async fn open(id: &str, store: &StoreArgs) -> Result<(ApiKeys<BoxKeyStore>, KeyId), Error> {
    let id: KeyId = id.parse().map_err(|_| {
        Error::config(format!(
            "{id:?} is not a key id (8 letters and digits, as `create` prints): give the id, \
             never the key"
        ))
    })?;
    let keys = DataDir::open_existing(&store.data, false, &store.database)?
        .api_keys(&store.database)
        .await?;
    Ok((keys, id))
}

/// `auth apikey revoke ID`: requests with the key, and the tokens issued to it, are refused
/// from now on. Revoking twice keeps the first time.
pub(crate) async fn revoke(id: &str, store: &StoreArgs, out: Output) -> Result<(), Error> {
    let (keys, id) = open(id, store).await?;
    keys.revoke(&id).await.map_err(Error::config)?;
    let record = keys
        .get(&id)
        .await
        .map_err(Error::config)?
        .ok_or_else(|| Error::config(format!("key {} vanished", id.as_str())))?;
    let at = record.revoked.map(|t| time::date(t.as_secs()));
    let value = json!({"revoked": id.as_str(), "subject": record.owner, "at": at});
    out.result(&value, || {
        format!(
            "revoked {} (subject {}) at {}",
            id.as_str(),
            record.owner,
            at.clone().unwrap_or_default()
        )
    });
    Ok(())
}

/// `auth apikey rotate ID --overlap SECS`: the successor, printed once; the old key works
/// for `overlap` more, then is refused.
pub(crate) async fn rotate(
    id: &str,
    overlap: Duration,
    store: &StoreArgs,
    out: Output,
) -> Result<(), Error> {
    let (keys, id) = open(id, store).await?;
    let issued = keys.rotate(&id, overlap).await.map_err(Error::config)?;
    let until = keys.clock().now().saturating_add(overlap);
    let mut value = issued_json(&issued);
    value["replaces"] = json!({"id": id.as_str(), "until": time::date(until.as_secs())});
    out.result(&value, || issued.expose_key().to_owned());
    out.notice(&format!(
        "shown once: store it now. id {} replaces {}, which works until {}",
        issued.id().as_str(),
        id.as_str(),
        time::date(until.as_secs())
    ));
    Ok(())
}

/// The JSON of a freshly issued key: the key itself (once), its id and record.
pub(crate) fn issued_json(issued: &auth_apikey::IssuedKey) -> Value {
    let r = issued.record();
    json!({
        "key": issued.expose_key(),
        "id": r.id.as_str(),
        "record": {
            "id": r.id.as_str(),
            "prefix": r.prefix,
            "subject": r.owner,
            "name": r.name,
            "scopes": r.scopes.iter().collect::<Vec<_>>(),
            "created": time::date(r.created.as_secs()),
            "rate": r.rate_quota.as_ref().map(rate_json),
        },
    })
}

/// A key's own rate limit as `auth serve --config` writes one: `{"requests": 2,
/// "period_secs": 60, "burst": 2}` (a period that is not whole seconds as a fraction).
fn rate_json(q: &RateQuota) -> Value {
    let period = q.period();
    let secs = if period.subsec_nanos() == 0 {
        json!(period.as_secs())
    } else {
        json!(period.as_secs_f64())
    };
    json!({"requests": q.requests().get(), "period_secs": secs, "burst": q.burst().get()})
}

/// `2/60s`, or `2/1.5s`; with `burst 5` when the burst is not the count.
fn rate_text(q: &RateQuota) -> String {
    let text = format!("{}/{}s", q.requests(), q.period().as_secs_f64());
    if q.burst() == q.requests() {
        text
    } else {
        format!("{text} burst {}", q.burst())
    }
}
