//! argon2id at the OWASP minimum (19 MiB, 2 passes), run on a pool of its own threads so the
//! async workers keep answering. The pool has as many threads as hashes may be in flight, so a
//! login flood queues instead of exhausting memory, and its threads run in the idle scheduling
//! class, so a flood that keeps every core hashing still leaves the other requests fast.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, mpsc};

use anyhow::Context;
use argon2::password_hash::{Output, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// Verified against when the user does not exist, so that unknown e-mails take as long.
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The password as it is hashed: in Unicode normal form C, so that «ё» typed as one character
/// or as «е» and a combining diaeresis (some keyboards and systems do either) is one password.
pub fn normalized(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfc().collect()
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    use argon2::PasswordHasher as _;
    let password = normalized(password);
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?
        .to_string())
}

thread_local! {
    /// argon2's working memory (19 MiB), kept by each hashing thread for the next hash: a fresh
    /// allocation per login goes back to the system when freed (see `os`), and faulting its
    /// pages in again cost as much as a third of the hash itself.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// What `PasswordVerifier::verify_password` does, with the thread's kept memory.
fn verify_now(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let password = normalized(password);
    let hashed = MEMORY.with_borrow_mut(|memory| {
        memory.resize(blocks, Block::default());
        argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            &mut memory[..blocks],
        )
    });
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == expected)
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..max_concurrent.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    crate::os::yield_to_every_other_thread();
                    loop {
                        // The lock is held while waiting for the next job, not while hashing.
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = next else { return };
                        job();
                    }
                })
                .context("cannot start a hashing thread")?;
        }
        Ok(Self {
            jobs,
            dummy_hash: Arc::new(hash_now("not a password of anyone")?),
        })
    }

    /// Runs `work` on the pool, in the caller's tracing span, and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(span.in_scope(work));
            }))
            .map_err(|_| anyhow::anyhow!("the hashing pool has stopped"))?;
        result.await.context("a hashing thread failed")
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await?
    }

    /// Checks a password against a stored hash, or against a dummy hash when there is no user.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self.run(move || verify_now(&password, &hash)).await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher.hash("правильный пароль").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("правильный пароль", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("неправильный", Some(&hash)).await.unwrap());
        assert!(
            !hasher
                .verify("not a password of anyone", None)
                .await
                .unwrap()
        );
    }
}
