//! E-mail: templates rendered into outbox rows (`templates`), and a background sender that
//! delivers them with retries (`sender`) over the configured transport.

mod sender;
mod templates;

pub use sender::{MailTransport, Sender};
pub use templates::{Letter, Templates};

use rand::RngCore;

/// A fresh globally unique Message-ID, fixed when the message is queued.
pub fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("<{}@lk.outbox>", hex::encode(bytes))
}
