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

/// The address to send to for a stored (normalised, Unicode) one: the domain in punycode.
pub fn send_to(stored: &str) -> String {
    domain::Email::parse(stored)
        .map(|email| email.to_ascii())
        .unwrap_or_else(|_| stored.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn recipients_get_punycode_domains() {
        assert_eq!(
            super::send_to("maria@почта.рф"),
            "maria@xn--80a1acny.xn--p1ai"
        );
        assert_eq!(super::send_to("ivanov@mail.ru"), "ivanov@mail.ru");
    }
}
