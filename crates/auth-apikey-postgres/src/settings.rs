//! Settings every instance of a fleet must agree on, claimed once in the database: the
//! first instance records its value, every later one reads the recorded value back and
//! compares (the pepper's fingerprint, so that an instance with another pepper, under which
//! no key of the fleet verifies, refuses to start instead of answering every key with 401).

use auth_apikey::Error;

use crate::store::PgStore;

impl PgStore {
    /// [`KeyStore::claim_setting`](auth_apikey::KeyStore::claim_setting): `value` for the
    /// first caller of the whole fleet, the first caller's value for every later one
    /// (instances starting together race safely: one insert wins).
    pub(crate) async fn claim(&self, name: &str, value: &str) -> Result<String, Error> {
        const WHAT: &str = "recording a setting";
        let fail = |e| Error::store(WHAT, e);
        let writer = self.db().writer().await?;
        let sql = &self.db().sql;
        writer
            .execute(&sql.claim_setting, &[&name, &value])
            .await
            .map_err(fail)?;
        let row = writer
            .query_one(&sql.read_setting, &[&name])
            .await
            .map_err(fail)?;
        row.try_get(0).map_err(fail)
    }
}
