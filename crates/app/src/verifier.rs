//! Checks pass signatures in batches. One Ed25519 verification costs about 34 µs of a core here,
//! a batch of 8 to 64 about 17 µs a signature: under load the scans that arrive together are
//! checked together. A thread of its own takes whatever has queued up; a single pass is checked
//! alone, and a batch that fails is checked one by one so that one forged pass never costs a
//! genuine one its answer.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use tokio::sync::{mpsc, oneshot};

/// The most signatures checked in one batch.
const MAX_BATCH: usize = 64;
/// How many checks may wait for the thread.
const QUEUE: usize = 4096;

#[derive(Debug)]
struct Check {
    message: Vec<u8>,
    signature: Signature,
    key: VerifyingKey,
    reply: oneshot::Sender<bool>,
}

/// A handle on the verifying thread; the thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct BatchVerifier {
    queue: Option<mpsc::Sender<Check>>,
}

impl BatchVerifier {
    /// Starts the thread. If the system refuses a thread, every check runs inline instead.
    pub(crate) fn start() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let started = std::thread::Builder::new().name("vaora-verify".into()).spawn(move || run(rx));
        Self { queue: started.ok().map(|_| tx) }
    }

    /// Whether `signature` is `key`'s signature of `message`.
    pub(crate) async fn verify(&self, message: Vec<u8>, signature: Signature, key: VerifyingKey) -> bool {
        let Some(queue) = &self.queue else {
            return key.verify(&message, &signature).is_ok();
        };
        let (reply, answer) = oneshot::channel();
        match queue.send(Check { message, signature, key, reply }).await {
            Ok(()) => answer.await.unwrap_or(false),
            Err(mpsc::error::SendError(c)) => c.key.verify(&c.message, &c.signature).is_ok(),
        }
    }
}

fn run(mut queue: mpsc::Receiver<Check>) {
    let mut checks = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        checks.push(first);
        while checks.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(c) => checks.push(c),
                Err(_) => break,
            }
        }
        let ok = verdicts(&checks_view(&checks));
        for (check, ok) in checks.drain(..).zip(ok) {
            // A caller that went away needs no answer.
            let _ = check.reply.send(ok);
        }
    }
}

/// Borrowed views of the queued checks, in order.
fn checks_view(checks: &[Check]) -> Vec<(&[u8], Signature, VerifyingKey)> {
    checks.iter().map(|c| (c.message.as_slice(), c.signature, c.key)).collect()
}

/// One verdict per check: all in one batch when that succeeds, else one by one.
fn verdicts(checks: &[(&[u8], Signature, VerifyingKey)]) -> Vec<bool> {
    if checks.len() > 1 {
        let messages: Vec<&[u8]> = checks.iter().map(|c| c.0).collect();
        let signatures: Vec<Signature> = checks.iter().map(|c| c.1).collect();
        let keys: Vec<VerifyingKey> = checks.iter().map(|c| c.2).collect();
        if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
            return vec![true; checks.len()];
        }
    }
    checks.iter().map(|(m, s, k)| k.verify(m, s).is_ok()).collect()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn a_forged_signature_in_a_batch_fails_alone() {
        let (a, b) = (key(1), key(2));
        let messages: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 40]).collect();
        let mut checks: Vec<(&[u8], Signature, VerifyingKey)> =
            messages.iter().map(|m| (m.as_slice(), a.sign(m), a.verifying_key())).collect();
        assert_eq!(verdicts(&checks), vec![true; 10]);
        // Signed by another key, and a signature moved to another message.
        checks[3].1 = b.sign(checks[3].0);
        checks[7].1 = checks[6].1;
        let expected: Vec<bool> = (0..10).map(|i| i != 3 && i != 7).collect();
        assert_eq!(verdicts(&checks), expected);
        assert_eq!(verdicts(&checks[3..4]), vec![false]);
        assert_eq!(verdicts(&checks[..1]), vec![true]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_each_get_their_own_verdict() {
        let verifier = BatchVerifier::start();
        let k = key(3);
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let verifier = verifier.clone();
            let k = k.clone();
            tasks.push(tokio::spawn(async move {
                let message = i.to_be_bytes().to_vec();
                let signature = if i % 7 == 0 { k.sign(b"something else") } else { k.sign(&message) };
                (i, verifier.verify(message, signature, k.verifying_key()).await)
            }));
        }
        for t in tasks {
            let (i, ok) = t.await.unwrap();
            assert_eq!(ok, i % 7 != 0, "check {i}");
        }
    }
}
