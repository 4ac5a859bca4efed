//! The rules of the «Личный кабинет» portal as types and pure functions.
//!
//! Every value type here is built only by its `parse` (or a checked constructor), so holding one
//! is proof that it is valid. No IO and no async: the same code runs in the API server and, as
//! wasm32, in the browser SPA, so a form is refused with the same words on both sides.
//! Every error enum has `code()` (a stable snake_case code for clients) and a Russian `Display`
//! a customer can act on.

pub mod account_number;
pub mod application_text;
pub mod calendar;
pub mod email;
pub mod full_name;
pub mod meter_kind;
pub mod money;
pub mod password;
pub mod phone;
mod punycode;
pub mod reading;
pub mod submission;
pub mod verification;

pub use account_number::{AccountNumber, AccountNumberError};
pub use application_text::{ApplicationText, ApplicationTextError, counter};
pub use calendar::{BillingMonth, BillingMonthError, SubmissionWindow, format_ru_date};
pub use email::{Email, EmailError};
pub use full_name::{FullName, FullNameError};
pub use meter_kind::MeterKind;
pub use money::{Money, MoneyError};
pub use password::{Password, PasswordError, check_new_password};
pub use phone::{Phone, PhoneError};
pub use reading::{MeterPrecision, ReadingValue, ReadingValueError};
pub use submission::{Accepted, PreviousReading, ReadingRefusal, SubmissionRequest, decide};
pub use verification::{Verification, VerificationStatus};
