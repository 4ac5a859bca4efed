//! Typed settings read once at start-up from the environment, to which an optional file
//! (`CONFIG_FILE`, lines of `KEY=VALUE`) may add. Secrets are wrapped so that they never print.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use domain::SubmissionWindow;

/// A value that must not reach logs: `Debug` and `Display` print asterisks.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// A developer's or QA's instance: with the file e-mail transport it generates its secrets
    /// under `DATA_DIR`.
    Development,
    Production,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Each message is written as an .eml file under `DATA_DIR/outbox`.
    File,
    /// `smtp://user:pass@host:587` (STARTTLS), `smtps://…:465` (TLS) or
    /// `smtp://host:1025?tls=none` for a local receiver.
    Smtp(Secret),
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
    /// How many times a message is tried before the sender gives up on it.
    pub max_attempts: u32,
}

/// Limits against abuse (R4): `max` events per `window` for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Failed logins for one e-mail address.
    pub login_per_account: Limit,
    /// Login attempts from one IP address: generous, an office shares one IP.
    pub login_per_ip: Limit,
    /// E-mail-sending requests for one address (registration, resend, reset, change).
    pub mail_per_address: Limit,
    /// E-mail-sending requests from one IP address.
    pub mail_per_ip: Limit,
    /// Failed account-linking attempts for one account number, across all users.
    pub link_per_account_number: Limit,
    /// Failed account-linking attempts by one user.
    pub link_per_user: Limit,
    /// Applications one user may file (each sends an e-mail).
    pub applications_per_user: Limit,
}

impl RateLimits {
    /// The longest window of any limit: a counter whose window started before that is over.
    pub fn longest_window(&self) -> Duration {
        [
            self.login_per_account,
            self.login_per_ip,
            self.mail_per_address,
            self.mail_per_ip,
            self.link_per_account_number,
            self.link_per_user,
            self.applications_per_user,
        ]
        .iter()
        .map(|limit| limit.window)
        .max()
        .unwrap_or_default()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            login_per_account: Limit {
                max: 10,
                window: minutes(15),
            },
            login_per_ip: Limit {
                max: 300,
                window: minutes(15),
            },
            // Ten letters an hour to one mailbox: a person who mistypes, asks again and resets a
            // password gets their letters; a flood at someone else's address stops soon.
            mail_per_address: Limit {
                max: 10,
                window: minutes(60),
            },
            mail_per_ip: Limit {
                max: 200,
                window: minutes(60),
            },
            link_per_account_number: Limit {
                max: 5,
                window: minutes(60),
            },
            link_per_user: Limit {
                max: 20,
                window: minutes(60),
            },
            applications_per_user: Limit {
                max: 20,
                window: minutes(60),
            },
        }
    }
}

/// What `GET /api/v1/info` tells about the branch.
#[derive(Debug, Clone)]
pub struct BranchConfig {
    pub name: String,
    pub hotline: String,
    pub window: SubmissionWindow,
    /// The branch's local time, which decides the day, the billing month and the window.
    pub utc_offset: time::UtcOffset,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub listen_addr: String,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    /// Without a trailing slash, e.g. `http://127.0.0.1:8080`.
    pub public_base_url: String,
    pub jwt_secret: Secret,
    pub mail: MailConfig,
    pub branch: BranchConfig,
    pub rate_limits: RateLimits,
    /// Where the built SPA lives; `None` when it has not been built.
    pub spa_dir: Option<PathBuf>,
    /// How many argon2 hashes may run at once (each takes ~19 MiB and a core).
    pub max_concurrent_hashes: usize,
    pub log_json: bool,
    /// Behind a reverse proxy: take the client's address from `X-Forwarded-For`/`Forwarded`.
    pub trust_proxy: bool,
}

/// Where a value comes from: the environment first, then the optional file.
struct Source {
    file: HashMap<String, String>,
}

impl Source {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key)
            .ok()
            .or_else(|| self.file.get(key).cloned())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (
                key.trim().trim_start_matches("export ").to_owned(),
                unquoted.to_owned(),
            )
        })
        .collect()
}

impl Config {
    /// Reads the configuration of a running instance.
    pub fn from_env() -> anyhow::Result<Self> {
        let file = match std::env::var("CONFIG_FILE") {
            Ok(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read CONFIG_FILE {path}"))?;
                parse_env_file(&text)
            }
            Err(_) => HashMap::new(),
        };
        Self::load(&Source { file })
    }

    fn load(source: &Source) -> anyhow::Result<Self> {
        let environment = match source.get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => bail!("APP_ENV must be development or production, not {other:?}"),
        };
        let listen_addr = source
            .get("LISTEN_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let data_dir = PathBuf::from(source.get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = source
            .get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("lk.sqlite3").display()));
        let public_base_url = source
            .get("PUBLIC_BASE_URL")
            .unwrap_or_else(|| format!("http://{listen_addr}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            bail!("PUBLIC_BASE_URL must start with http:// or https://");
        }

        let transport = match source.get("MAIL_TRANSPORT").as_deref() {
            None | Some("file") => MailTransport::File,
            Some("smtp") => MailTransport::Smtp(Secret::new(
                source
                    .get("SMTP_URL")
                    .context("SMTP_URL is required when MAIL_TRANSPORT=smtp")?,
            )),
            Some(other) => bail!("MAIL_TRANSPORT must be file or smtp, not {other:?}"),
        };
        // A development instance (SPEC: the file e-mail transport) may make up its own secret;
        // one that sends real mail, or says it is production, must be given one.
        let development =
            environment == Environment::Development && matches!(transport, MailTransport::File);
        let jwt_secret = match source.get("JWT_SECRET") {
            Some(secret) if secret.len() < 32 => {
                bail!("JWT_SECRET must be at least 32 characters (256 bits)")
            }
            Some(secret) => Secret::new(secret),
            None if development => development_secret(&data_dir)?,
            None => bail!(
                "JWT_SECRET is required unless this is a development instance \
                 (MAIL_TRANSPORT=file and APP_ENV not production)"
            ),
        };
        let mail = MailConfig {
            transport,
            from: source
                .get("MAIL_FROM")
                .unwrap_or_else(|| "Личный кабинет Т Плюс <noreply@lk.tplus58.ru>".into()),
            // 11 doublings from 2 s reach the hourly cap after about 68 minutes; 80 attempts keep
            // a message through an SMTP outage of about three days (R5).
            max_attempts: parse_or(source, "MAIL_MAX_ATTEMPTS", 80)?,
        };

        let window = match source.get("SUBMISSION_WINDOW") {
            None => SubmissionWindow::whole_month(),
            Some(text) => parse_window(&text)?,
        };
        let branch = BranchConfig {
            name: source
                .get("BRANCH_NAME")
                .unwrap_or_else(|| "Пензенский филиал ПАО «Т Плюс»".into()),
            hotline: source
                .get("HOTLINE")
                .unwrap_or_else(|| "8(8412)21-07-21".into()),
            window,
            utc_offset: match source.get("BRANCH_UTC_OFFSET") {
                None => PENZA_UTC_OFFSET,
                Some(text) => parse_utc_offset(&text)?,
            },
        };

        let defaults = RateLimits::default();
        let rate_limits = RateLimits {
            login_per_account: limit(
                source,
                "RATE_LIMIT_LOGIN_PER_ACCOUNT",
                defaults.login_per_account,
            )?,
            login_per_ip: limit(source, "RATE_LIMIT_LOGIN_PER_IP", defaults.login_per_ip)?,
            mail_per_address: limit(
                source,
                "RATE_LIMIT_MAIL_PER_ADDRESS",
                defaults.mail_per_address,
            )?,
            mail_per_ip: limit(source, "RATE_LIMIT_MAIL_PER_IP", defaults.mail_per_ip)?,
            link_per_account_number: limit(
                source,
                "RATE_LIMIT_LINK_PER_ACCOUNT_NUMBER",
                defaults.link_per_account_number,
            )?,
            link_per_user: limit(source, "RATE_LIMIT_LINK_PER_USER", defaults.link_per_user)?,
            applications_per_user: limit(
                source,
                "RATE_LIMIT_APPLICATIONS_PER_USER",
                defaults.applications_per_user,
            )?,
        };

        let spa_dir = source.get("SPA_DIR").map(PathBuf::from).or_else(|| {
            let built = PathBuf::from("crates/web/dist");
            built.join("index.html").exists().then_some(built)
        });

        Ok(Self {
            environment,
            listen_addr,
            data_dir,
            database_url: Secret::new(database_url),
            public_base_url,
            jwt_secret,
            mail,
            branch,
            rate_limits,
            spa_dir,
            // One hash per core: a login flood then keeps every core hashing, no more.
            max_concurrent_hashes: parse_or(
                source,
                "MAX_CONCURRENT_HASHES",
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )?,
            log_json: matches!(source.get("LOG_FORMAT").as_deref(), Some("json")),
            trust_proxy: matches!(source.get("TRUST_PROXY").as_deref(), Some("true" | "1")),
        })
    }

    /// A configuration for tests and tools: development defaults under `data_dir`.
    pub fn for_data_dir(data_dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        let mut file = HashMap::new();
        file.insert("DATA_DIR".to_owned(), data_dir.display().to_string());
        file.insert("DATABASE_URL".to_owned(), database_url.to_owned());
        file.insert("LISTEN_ADDR".to_owned(), "127.0.0.1:0".to_owned());
        let mut config = Self::load(&Source { file })?;
        config.spa_dir = None;
        Ok(config)
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

fn parse_or<T: std::str::FromStr>(source: &Source, key: &str, default: T) -> anyhow::Result<T> {
    match source.get(key) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| anyhow::anyhow!("{key} has an invalid value")),
    }
}

/// `RATE_LIMIT_X=10/15m`: ten events per fifteen minutes (`s`, `m`, `h` units).
fn limit(source: &Source, key: &str, default: Limit) -> anyhow::Result<Limit> {
    let Some(text) = source.get(key) else {
        return Ok(default);
    };
    let parsed = text.split_once('/').and_then(|(max, window)| {
        let max: u32 = max.trim().parse().ok()?;
        let window = window.trim();
        let (number, unit) = window.split_at(window.len().checked_sub(1)?);
        let number: u64 = if number.is_empty() {
            1
        } else {
            number.parse().ok()?
        };
        let seconds = match unit {
            "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return None,
        };
        (max > 0 && seconds > 0).then(|| Limit {
            max,
            window: Duration::from_secs(seconds),
        })
    });
    parsed.with_context(|| format!("{key} must look like 10/15m (count/window with s, m or h)"))
}

/// Penza keeps Moscow time all year.
const PENZA_UTC_OFFSET: time::UtcOffset = time::macros::offset!(+3);

/// `BRANCH_UTC_OFFSET=+03:00` (or `+3`, `-05:30`, `0`).
fn parse_utc_offset(text: &str) -> anyhow::Result<time::UtcOffset> {
    let text = text.trim();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    hours
        .parse::<i8>()
        .ok()
        .zip(minutes.parse::<i8>().ok())
        .filter(|&(h, m)| (0..=14).contains(&h) && (0..60).contains(&m))
        .and_then(|(h, m)| time::UtcOffset::from_hms(sign * h, sign * m, 0).ok())
        .context("BRANCH_UTC_OFFSET must look like +03:00 (hours and minutes east of UTC)")
}

/// `SUBMISSION_WINDOW=15-25`: readings are taken from the 15th to the 25th day of the month.
fn parse_window(text: &str) -> anyhow::Result<SubmissionWindow> {
    text.split_once('-')
        .and_then(|(first, last)| {
            SubmissionWindow::new(first.trim().parse().ok()?, last.trim().parse().ok()?)
        })
        .context("SUBMISSION_WINDOW must look like 15-25 (first and last day of the month)")
}

/// A development instance keeps a generated secret under `DATA_DIR`, so restarts and a second
/// instance on the same directory keep sessions valid.
fn development_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    use rand::RngCore;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(Secret::new(existing));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create DATA_DIR {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    // Readable by its owner only: whoever reads it can sign access tokens.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(secret.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Secret::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pairs: &[(&str, &str)]) -> Source {
        Source {
            file: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn env_file_lines_are_parsed() {
        let parsed = parse_env_file("# comment\nA=1\nexport B = \"two\"\n\nbroken\n");
        assert_eq!(parsed.get("A").map(String::as_str), Some("1"));
        assert_eq!(parsed.get("B").map(String::as_str), Some("two"));
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn limits_parse_count_and_window() {
        let src = source(&[("L", "10/15m"), ("BAD", "ten")]);
        let parsed = limit(
            &src,
            "L",
            Limit {
                max: 1,
                window: Duration::from_secs(1),
            },
        )
        .unwrap();
        assert_eq!(
            parsed,
            Limit {
                max: 10,
                window: Duration::from_secs(900)
            }
        );
        assert!(limit(&src, "BAD", parsed).is_err());
    }

    #[test]
    fn utc_offsets_parse_with_or_without_minutes() {
        let hm = |h, m| time::UtcOffset::from_hms(h, m, 0).unwrap();
        assert_eq!(parse_utc_offset("+03:00").unwrap(), hm(3, 0));
        assert_eq!(parse_utc_offset("3").unwrap(), hm(3, 0));
        assert_eq!(parse_utc_offset("0").unwrap(), hm(0, 0));
        assert_eq!(parse_utc_offset("-05:30").unwrap(), hm(-5, -30));
        for bad in ["", "+3h", "+15", "+03:60", "Europe/Moscow", "--3"] {
            assert!(parse_utc_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn production_requires_a_long_jwt_secret() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let missing = source(&[("APP_ENV", "production"), ("DATA_DIR", &data)]);
        assert!(Config::load(&missing).is_err());
        let short = source(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]);
        assert!(Config::load(&short).is_err());
        let long = "k".repeat(32);
        let given = source(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &long),
            ("DATA_DIR", &data),
        ]);
        assert!(Config::load(&given).is_ok());
    }

    #[test]
    fn sending_real_mail_requires_a_jwt_secret() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let smtp = [
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", "smtp://127.0.0.1:2525?tls=none"),
            ("DATA_DIR", &data),
        ];
        let error = Config::load(&source(&smtp)).unwrap_err().to_string();
        assert!(error.contains("JWT_SECRET"), "{error}");
        let long = "k".repeat(32);
        let given = [smtp.as_slice(), &[("JWT_SECRET", long.as_str())]].concat();
        assert!(Config::load(&source(&given)).is_ok());
        // The file transport is a development instance: it makes up its own secret.
        assert!(Config::load(&source(&[("DATA_DIR", &data)])).is_ok());
    }

    #[test]
    fn development_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = development_secret(dir.path()).unwrap();
        let second = development_secret(dir.path()).unwrap();
        assert_eq!(first, second);
        assert!(first.expose().len() >= 64);
        assert_eq!(format!("{first:?}"), "Secret(***)");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("jwt_secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }

    #[test]
    fn unknown_mail_transport_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let src = source(&[("MAIL_TRANSPORT", "pigeon"), ("DATA_DIR", &data)]);
        assert!(Config::load(&src).is_err());
    }
}
