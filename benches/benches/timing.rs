//! Constant-time checks, measured (dudect: Reparaz, Balasch, Verbauwhede, "Dude, is my code
//! constant time?", DATE 2017): two classes of input to one operation, measured interleaved
//! in an order fixed by a seeded generator, compared with Welch's t-test on all samples and
//! on the samples under several percentiles of both classes together. |t| under 4.5 says the
//! classes cannot be told apart at that many measurements.
//!
//! Run by `cargo xtask timing [--samples N]` (`cargo bench -p benches --bench timing --
//! --samples N`),
//! not in the default CI run: timing on a shared machine is noisy, and the answer is a
//! statistic, not a pass or fail to gate every change on. Pairs:
//!
//! - API keys, on the SQLite store `auth serve` uses, and again on the memory store (no
//!   database read around the comparison): a wrong secret for a known id vs an
//!   unknown id (no oracle for which ids exist); a wrong secret that differs from the right
//!   one in its first character vs in its last (the digest comparison); and, for the record,
//!   the right secret vs a wrong one, which differ by design after the comparison (a valid
//!   key's record is read on; a refusal stops). `auth serve`'s client secret is an API key
//!   checked by this same code.
//! - API keys on the memory store, a content control: wrong at the same (last) character by
//!   two different characters, so the comparison sees the same matching prefix and only the
//!   presented bytes differ (the offline checks, base62 and the checksum, read them).
//! - API keys, known id vs unknown id, once more on a store whose read costs the same for
//!   every id (`OneRecordStore`, below): no index can find a present and an absent key in
//!   equal time (a hash probe or a B-tree descent ends differently), so this pair measures
//!   what is auth-apikey's to make equal, the verification around the read (a dummy digest
//!   and the same comparison on a miss).
//! - JWT HS256: a signature wrong in its first byte vs in its last (the HMAC comparison), and
//!   two content controls: wrong at the same place by two different characters (the same
//!   matching prefix for the comparison, different bytes for the decoder), which tell a
//!   comparison that leaks from input bytes that decode differently.

use std::hint::black_box;
use std::time::Instant;

use std::sync::{Arc, OnceLock};

use auth_apikey::{
    ApiKeys, Error, KeyFormat, KeyId, KeyRecord, KeyStore, MemoryStore, NewKey, SqliteStore,
};
use auth_core::{ManualClock, Secret, TokenVerdict, UnixTime, VerifyToken as _};
use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier};
use benches::ready;
use subtle::ConstantTimeEq as _;

const THRESHOLD: f64 = 4.5;
const PERCENTILES: [f64; 5] = [0.5, 0.75, 0.9, 0.95, 0.99];

/// xorshift64*: the classes' order, the same on every run.
struct Order(u64);

impl Order {
    fn next(&mut self) -> bool {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63 == 1
    }
}

/// Welch's t of two samples.
fn welch(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    let ((na, ma, va), (nb, mb, vb)) = (stats(a), stats(b));
    (ma - mb) / (va / na + vb / nb).sqrt()
}

/// Measures `op` on `inputs[0]` and `inputs[1]`, interleaved, `samples` times in all; the
/// largest |t| over all samples and the cropped ones, and the two medians in ns.
fn measure<T>(samples: usize, inputs: [&T; 2], op: impl Fn(&T) -> bool) -> (f64, f64, f64) {
    let mut order = Order(0x9E37_79B9_7F4A_7C15);
    let mut classes: [Vec<f64>; 2] = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    for _ in 0..samples / 50 {
        op(inputs[0]);
        op(inputs[1]);
    }
    for _ in 0..samples {
        let class = usize::from(order.next());
        let started = Instant::now();
        black_box(op(black_box(inputs[class])));
        classes[class].push(started.elapsed().as_nanos() as f64);
    }
    let mut all: Vec<f64> = classes.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let mut worst = welch(&classes[0], &classes[1]).abs();
    for p in PERCENTILES {
        let cut = all[((all.len() - 1) as f64 * p) as usize];
        let crop = |c: &[f64]| c.iter().copied().filter(|v| *v <= cut).collect::<Vec<_>>();
        let (a, b) = (crop(&classes[0]), crop(&classes[1]));
        if a.len() > 1 && b.len() > 1 {
            worst = worst.max(welch(&a, &b).abs());
        }
    }
    let median = |c: &mut Vec<f64>| {
        c.sort_by(f64::total_cmp);
        c[c.len() / 2]
    };
    let (m0, m1) = (median(&mut classes[0]), median(&mut classes[1]));
    (worst, m0, m1)
}

/// `key` with the character at `at` of its secret changed and the checksum made right again:
/// a well-formed key for the same id that is not the key.
fn wrong_secret(format: &KeyFormat, key: &str, at: usize) -> String {
    wrong_secret_by(format, key, at, 0)
}

/// [`wrong_secret`] with the `k`-th of the candidates `a`, `b`, `c` that differs from the
/// character there: two values of `k` give keys wrong at the same place by different
/// characters (and so different checksums), a content control for the pair above.
fn wrong_secret_by(format: &KeyFormat, key: &str, at: usize, k: usize) -> String {
    use auth_apikey::{ID_LEN, SECRET_LEN};
    let head = format.prefix().len() + 1;
    let mut body: Vec<u8> = key.as_bytes()[head..].to_vec();
    let at = ID_LEN + at.min(SECRET_LEN - 1);
    let original = body[at];
    body[at] = b"abc"
        .iter()
        .copied()
        .filter(|c| *c != original)
        .nth(k)
        .unwrap_or(b'a');
    let sum = auth_apikey::checksum::checksum(&body[..ID_LEN + SECRET_LEN]);
    body[ID_LEN + SECRET_LEN..].copy_from_slice(&sum);
    format!("{}{}", &key[..head], String::from_utf8_lossy(&body))
}

/// A store of one record whose read does the same work for every id: the record is read
/// and its id compared in constant time, and the answer is that record or none. The other
/// methods go to a memory store (they are not timed).
#[derive(Debug, Default)]
struct OneRecordStore {
    only: OnceLock<Arc<KeyRecord>>,
    rest: MemoryStore,
}

impl KeyStore for OneRecordStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), Error> {
        let _ = self.only.set(Arc::new(record.clone()));
        self.rest.insert(record).await
    }

    async fn get(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        let only = self.only.get().map(Arc::clone);
        let same = only
            .as_ref()
            .is_some_and(|r| bool::from(r.id.as_str().as_bytes().ct_eq(id.as_str().as_bytes())));
        Ok(only.filter(|_| same))
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        self.rest.list_by_owner(owner).await
    }

    async fn revoke(&self, id: &KeyId, at: UnixTime) -> Result<(), Error> {
        self.rest.revoke(id, at).await
    }

    async fn set_expires(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        self.rest.set_expires(id, expires).await
    }

    async fn consume_use(&self, id: &KeyId) -> Result<bool, Error> {
        self.rest.consume_use(id).await
    }

    async fn rotate(&self, old: &KeyId, expires: UnixTime, new: KeyRecord) -> Result<(), Error> {
        self.rest.rotate(old, expires, new).await
    }
}

#[allow(clippy::print_stdout)] // the report is this program's output
fn main() {
    // Only when asked (`cargo xtask timing`): `cargo bench` of the whole crate runs this target
    // too, with criterion's flags, and then it does nothing.
    let args: Vec<String> = std::env::args().collect();
    let Some(samples) = args
        .windows(2)
        .find(|w| w[0] == "--samples")
        .and_then(|w| w[1].parse::<usize>().ok())
        .filter(|n| *n >= 1000)
    else {
        println!("timing: run it with `cargo xtask timing [--samples N]`");
        return;
    };
    let format = KeyFormat::new("sk_live").unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("auth-rs-timing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(dir.join("keys.db")).unwrap_or_else(|e| panic!("{e}"));
    let keys = ApiKeys::builder(format.clone())
        .pepper(Secret::new("timing-pepper-0123456789abcdef"))
        .build(store)
        .unwrap_or_else(|e| panic!("{e}"));
    // Each insert is a durable transaction: 200 keys keep the setup short.
    for i in 0..200 {
        let _ = ready(keys.create(NewKey::new(format!("tenant-{i}"), "other")));
    }
    let issued =
        ready(keys.create(NewKey::new("acme", "deploy"))).unwrap_or_else(|e| panic!("{e}"));
    let right = issued.expose_key().to_owned();
    let wrong = wrong_secret(&format, &right, usize::MAX);
    let wrong_first = wrong_secret(&format, &right, 0);
    // A fresh key never stored: an unknown id, well formed.
    let unknown = ready(
        ApiKeys::builder(format.clone())
            .build(MemoryStore::new())
            .unwrap_or_else(|e| panic!("{e}"))
            .create(NewKey::new("nobody", "x")),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .expose_key()
    .to_owned();
    let check = |k: &String| matches!(ready(keys.verify(k)), Ok(TokenVerdict::Valid(_)));
    assert!(check(&right) && !check(&wrong) && !check(&wrong_first) && !check(&unknown));
    // The same pairs on the memory store, where no database read stands around the
    // comparison: what is left is auth-apikey's own code.
    let in_memory = ApiKeys::builder(format.clone())
        .pepper(Secret::new("timing-pepper-0123456789abcdef"))
        .build(MemoryStore::new())
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..200 {
        let _ = ready(in_memory.create(NewKey::new(format!("tenant-{i}"), "other")));
    }
    let m_right = ready(in_memory.create(NewKey::new("acme", "deploy")))
        .unwrap_or_else(|e| panic!("{e}"))
        .expose_key()
        .to_owned();
    let (m_wrong, m_wrong_first) = (
        wrong_secret(&format, &m_right, usize::MAX),
        wrong_secret(&format, &m_right, 0),
    );
    let m_wrong_other = wrong_secret_by(&format, &m_right, usize::MAX, 1);
    let m_check = |k: &String| matches!(ready(in_memory.verify(k)), Ok(TokenVerdict::Valid(_)));
    assert!(m_check(&m_right) && !m_check(&m_wrong) && !m_check(&m_wrong_first));
    assert!(!m_check(&m_wrong_other) && m_wrong_other != m_wrong);
    assert!(!m_check(&unknown));
    // Known vs unknown id with a read of equal cost: the verification's own share.
    let one = ApiKeys::builder(format.clone())
        .pepper(Secret::new("timing-pepper-0123456789abcdef"))
        .build(OneRecordStore::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let o_right = ready(one.create(NewKey::new("acme", "deploy")))
        .unwrap_or_else(|e| panic!("{e}"))
        .expose_key()
        .to_owned();
    let o_wrong = wrong_secret(&format, &o_right, usize::MAX);
    let o_check = |k: &String| matches!(ready(one.verify(k)), Ok(TokenVerdict::Valid(_)));
    assert!(o_check(&o_right) && !o_check(&o_wrong) && !o_check(&unknown));

    let hs = SigningKey::hmac(&Secret::new([7u8; 32]), Algorithm::HS256)
        .unwrap_or_else(|e| panic!("{e}"));
    let verifier = Verifier::builder()
        .keys(KeySet::new([hs
            .verification_key()
            .unwrap_or_else(|e| panic!("{e}"))]))
        .algorithms([Algorithm::HS256])
        .issuer("i")
        .audience("a")
        .clock(ManualClock::new(UnixTime::from_secs(1_700_000_000)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let token = hs
        .sign(&serde_json::json!({"iss": "i", "aud": "a", "sub": "s", "exp": 1_800_000_000u64}))
        .unwrap_or_else(|e| panic!("{e}"));
    // The signature with its character at `at` replaced by the `k`-th candidate that differs
    // from it. At the last position the candidates keep the character canonical (its two
    // unused low bits zero: A, Q, g, w).
    let flip = |at: usize, k: usize| {
        let (input, sig) = token.rsplit_once('.').unwrap_or_default();
        let mut sig = sig.as_bytes().to_vec();
        let candidates: &[u8] = if at + 1 == sig.len() {
            b"AQgw"
        } else {
            b"BCDE"
        };
        let original = sig[at];
        sig[at] = candidates
            .iter()
            .copied()
            .filter(|c| *c != original)
            .nth(k)
            .unwrap_or(b'A');
        format!("{input}.{}", String::from_utf8_lossy(&sig))
    };
    let sig_len = token.rsplit_once('.').map_or(0, |(_, s)| s.len());
    let (first, last) = (flip(0, 0), flip(sig_len - 1, 0));
    // Content controls: wrong at the same place by two different characters. The HMAC
    // comparison sees the same matching prefix in both; only the bytes decoded differ.
    let (first_other, last_other) = (flip(0, 1), flip(sig_len - 1, 1));
    // The control pair: equal work on equal bytes at another address. A |t| over the
    // threshold there says the machine, not the code, tells the classes apart.
    let first_copy = first.clone();
    let jwt = |t: &String| ready(verifier.verify_principal(t)).is_ok();
    assert!(jwt(&token) && !jwt(&first) && !jwt(&last));
    assert!(!jwt(&first_other) && !jwt(&last_other) && first != first_other && last != last_other);

    println!("{samples} measurements per pair, threshold |t| < {THRESHOLD}\n");
    println!("| pair | max abs t | median A | median B | verdict |\n|---|---|---|---|---|");
    let rows = [
        (
            "API key: wrong secret, known id / unknown id",
            measure(samples, [&wrong, &unknown], check),
        ),
        (
            "API key: wrong secret at its first / last character",
            measure(samples, [&wrong_first, &wrong], check),
        ),
        (
            "API key: right secret / wrong secret (differ by design: see above)",
            measure(samples, [&right, &wrong], check),
        ),
        (
            "API key, memory store: wrong secret, known id / unknown id",
            measure(samples, [&m_wrong, &unknown], m_check),
        ),
        (
            "API key, memory store: wrong secret at its first / last character",
            measure(samples, [&m_wrong_first, &m_wrong], m_check),
        ),
        (
            "content control: API key, memory store, wrong at its last character by two different characters",
            measure(samples, [&m_wrong, &m_wrong_other], m_check),
        ),
        (
            "API key, a read of equal cost for every id: wrong secret, known id / unknown id",
            measure(samples, [&o_wrong, &unknown], o_check),
        ),
        (
            "JWT HS256: signature wrong at its first / last byte",
            measure(samples, [&first, &last], jwt),
        ),
        (
            "control: JWT HS256, one token / an equal copy of it",
            measure(samples, [&first, &first_copy], jwt),
        ),
        (
            "content control: JWT HS256 wrong at its first byte, by two different characters",
            measure(samples, [&first, &first_other], jwt),
        ),
        (
            "content control: JWT HS256 wrong at its last byte, by two different characters",
            measure(samples, [&last, &last_other], jwt),
        ),
    ];
    for (name, (t, a, b)) in rows {
        let verdict = if t < THRESHOLD {
            "indistinguishable"
        } else {
            "DIFFERS"
        };
        println!("| {name} | {t:.2} | {a:.0} ns | {b:.0} ns | {verdict} |");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
