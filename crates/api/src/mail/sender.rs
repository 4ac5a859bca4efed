//! The background sender: takes due messages from the outbox, delivers them, and on failure
//! retries with exponential back-off until it gives up. Several instances may run it at once:
//! a message is claimed (locked for a while) before it is sent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{ContentTransferEncoding, ContentType, MessageId};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{MailConfig, MailTransport as MailTransportConfig};
use crate::store::{OutboxRecord, Store};

/// How long a claimed message stays locked to the sender that claimed it.
const CLAIM_SECS: i64 = 120;
/// How often an idle sender looks for due messages (others' and retries).
const IDLE_POLL: Duration = Duration::from_secs(2);

pub enum MailTransport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl MailTransport {
    pub fn from_config(config: &MailTransportConfig, outbox_dir: &Path) -> anyhow::Result<Self> {
        Ok(match config {
            MailTransportConfig::File => {
                std::fs::create_dir_all(outbox_dir)
                    .with_context(|| format!("cannot create {}", outbox_dir.display()))?;
                Self::File(AsyncFileTransport::new(outbox_dir))
            }
            MailTransportConfig::Smtp(url) => Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url.expose()))
                    .context("SMTP_URL is not a valid smtp:// or smtps:// URL")?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
        })
    }

    async fn send(&self, message: Message) -> anyhow::Result<()> {
        match self {
            Self::File(transport) => transport.send(message).await.map(|_| ())?,
            Self::Smtp(transport) => transport.send(message).await.map(|_| ())?,
        }
        Ok(())
    }
}

/// `SMTP_URL` as lettre reads it. As documented, `smtp://host:587` means STARTTLS (required) and
/// `smtp://host:1025?tls=none` plain text for a local receiver; lettre itself takes
/// `smtp://` without `tls` as plain text and refuses `tls=none`. Other forms pass unchanged.
fn lettre_url(configured: &str) -> String {
    let is_smtp = configured
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("smtp"));
    if !is_smtp {
        return configured.to_owned();
    }
    let (base, query) = configured.split_once('?').unwrap_or((configured, ""));
    let mut tls = Some("required");
    let mut pairs: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("tls", "none")) => tls = None,
            Some(("tls", value)) => tls = Some(value),
            _ => pairs.push(pair),
        }
    }
    let tls = tls.map(|value| format!("tls={value}"));
    pairs.extend(tls.as_deref());
    if pairs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

/// Handle to wake the sender as soon as something is queued.
#[derive(Clone)]
pub struct Sender {
    wake: Arc<Notify>,
}

impl Sender {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the sender loop on the current runtime.
    pub fn spawn(
        store: Arc<dyn Store>,
        transport: MailTransport,
        config: MailConfig,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .context("MAIL_FROM is not a valid mailbox")?;
        let wake = Arc::new(Notify::new());
        let worker = Arc::new(Worker {
            store,
            transport,
            from,
            max_attempts: config.max_attempts,
            clock,
        });
        let notified = wake.clone();
        tokio::spawn(async move {
            loop {
                // Each round runs as its own task: even a panic cannot stop the sender.
                let round = tokio::spawn({
                    let worker = worker.clone();
                    async move { worker.send_due().await }
                });
                match round.await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(error = %error, "mail sender could not read the outbox")
                    }
                    Err(error) => tracing::error!(%error, "mail sender round failed"),
                }
                tokio::select! {
                    _ = notified.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
        });
        Ok(Self { wake })
    }
}

struct Worker {
    store: Arc<dyn Store>,
    transport: MailTransport,
    from: Mailbox,
    max_attempts: u32,
    clock: Clock,
}

impl Worker {
    /// Sends every message that is due now.
    async fn send_due(&self) -> anyhow::Result<()> {
        while let Some(record) = self.store.claim_mail(self.clock.now(), CLAIM_SECS).await? {
            let id = record.id;
            match self.deliver(&record).await {
                Ok(()) => {
                    tracing::info!(outbox_id = id, subject = %record.subject, "mail sent");
                    self.store.mail_sent(id, self.clock.now()).await?;
                }
                Err(error) => {
                    let now = self.clock.now();
                    let retry_at = (record.attempts < i64::from(self.max_attempts))
                        .then(|| now + backoff_secs(record.attempts));
                    tracing::warn!(
                        outbox_id = id,
                        attempts = record.attempts,
                        gave_up = retry_at.is_none(),
                        error = %format!("{error:#}"),
                        "mail not sent"
                    );
                    self.store
                        .mail_failed(id, &format!("{error:#}"), retry_at, now)
                        .await?;
                    // The transport is down: stop here and let back-off pace the next try.
                    break;
                }
            }
        }
        Ok(())
    }

    /// Files keep their parts unencoded, so links stay whole and QA can `grep` them from an
    /// .eml file; over SMTP lettre picks a transfer encoding that every server takes.
    fn part(&self, content_type: ContentType, body: &str) -> SinglePart {
        let builder = SinglePart::builder().header(content_type);
        match self.transport {
            MailTransport::File(_) => {
                match Body::new_with_encoding(body.to_owned(), ContentTransferEncoding::Binary) {
                    Ok(raw) => builder.body(raw),
                    Err(_) => builder.body(body.to_owned()),
                }
            }
            MailTransport::Smtp(_) => builder.body(body.to_owned()),
        }
    }

    async fn deliver(&self, record: &OutboxRecord) -> anyhow::Result<()> {
        let to: Mailbox = record.recipient.parse().context("invalid recipient")?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&record.subject)
            .header(MessageId::from(record.message_id.clone()))
            .multipart(
                MultiPart::alternative()
                    .singlepart(self.part(ContentType::TEXT_PLAIN, &record.body_text))
                    .singlepart(self.part(ContentType::TEXT_HTML, &record.body_html)),
            )
            .context("cannot build the message")?;
        if let MailTransport::File(_) = self.transport {
            // On a development instance the links are logged too, for QA with a shell.
            for link in record
                .body_text
                .split_whitespace()
                .filter(|w| w.starts_with("http"))
            {
                tracing::info!(to = %record.recipient, %link, "mail link");
            }
        }
        self.transport.send(message).await
    }
}

/// 2, 4, 8 … seconds after the first, second, third failure, at most an hour.
fn backoff_secs(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 12) as u32;
    2_i64.pow(exponent).min(3600)
}

#[cfg(test)]
mod tests {
    use super::{backoff_secs, lettre_url};

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_secs(1), 2);
        assert_eq!(backoff_secs(2), 4);
        assert_eq!(backoff_secs(5), 32);
        assert_eq!(backoff_secs(40), 3600);
    }

    #[tokio::test]
    async fn smtp_urls_mean_what_the_documentation_says() {
        // STARTTLS unless told otherwise; `tls=none` is plain text.
        assert_eq!(
            lettre_url("smtp://user:p%40ss@smtp.example.ru:587"),
            "smtp://user:p%40ss@smtp.example.ru:587?tls=required"
        );
        assert_eq!(
            lettre_url("smtp://127.0.0.1:1025?tls=none"),
            "smtp://127.0.0.1:1025"
        );
        assert_eq!(
            lettre_url("smtp://host:25/ehlo.name?tls=opportunistic"),
            "smtp://host:25/ehlo.name?tls=opportunistic"
        );
        assert_eq!(
            lettre_url("smtps://user:pass@host:465"),
            "smtps://user:pass@host:465"
        );
        for url in [
            "smtp://127.0.0.1:1025?tls=none",
            "smtp://host:587",
            "smtps://user:pass@host:465",
        ] {
            let transport = super::MailTransport::from_config(
                &crate::config::MailTransport::Smtp(crate::config::Secret::new(url)),
                std::path::Path::new("."),
            );
            assert!(transport.is_ok(), "{url} refused");
        }
    }
}
