//! KSeF's environments and the hosts each one answers on: the API, the verification links (QR codes) and the
//! Latarnia, where the Ministry announces maintenance and failures.

use std::fmt;
use std::str::FromStr;

/// One of the Ministry's KSeF environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// TEST (TE), with self-service test data and self-signed certificates.
    Test,
    /// DEMO (pre-production).
    Demo,
    /// Production (PRD).
    Production,
}

impl Environment {
    /// Every environment, for help texts and tests.
    pub const ALL: [Environment; 3] = [Environment::Test, Environment::Demo, Environment::Production];

    /// The API's base URL, ending in `/v2`.
    pub fn api_base(self) -> &'static str {
        match self {
            Environment::Test => "https://api-test.ksef.mf.gov.pl/v2",
            Environment::Demo => "https://api-demo.ksef.mf.gov.pl/v2",
            Environment::Production => "https://api.ksef.mf.gov.pl/v2",
        }
    }

    /// The base URL of verification links (KOD I and KOD II), without a trailing slash.
    pub fn qr_base(self) -> &'static str {
        match self {
            Environment::Test => "https://qr-test.ksef.mf.gov.pl",
            Environment::Demo => "https://qr-demo.ksef.mf.gov.pl",
            Environment::Production => "https://qr.ksef.mf.gov.pl",
        }
    }

    /// The base URL of the Ministry's Latarnia ("lighthouse"): KSeF's announced maintenance and failures
    /// (`GET /status`, `GET /messages`, no authentication). TEST and DEMO share one.
    pub fn lighthouse_base(self) -> &'static str {
        match self {
            Environment::Test | Environment::Demo => "https://api-latarnia-test.ksef.mf.gov.pl",
            Environment::Production => "https://api-latarnia.ksef.mf.gov.pl",
        }
    }

    /// The short name used on command lines and in configuration: `test`, `demo` or `prod`.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Demo => "demo",
            Environment::Production => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is none of `test`, `demo`, `prod` (or `production`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown KSeF environment '{0}' (use test, demo or prod)")]
pub struct UnknownEnvironment(pub String);

impl FromStr for Environment {
    type Err = UnknownEnvironment;

    fn from_str(text: &str) -> Result<Environment, UnknownEnvironment> {
        match text.trim().to_ascii_lowercase().as_str() {
            "test" | "te" => Ok(Environment::Test),
            "demo" => Ok(Environment::Demo),
            "prod" | "production" | "prd" => Ok(Environment::Production),
            _ => Err(UnknownEnvironment(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_their_environment() {
        for env in Environment::ALL {
            assert_eq!(env.name().parse::<Environment>(), Ok(env));
            assert!(env.api_base().ends_with("/v2"));
            assert!(!env.qr_base().ends_with('/'));
        }
        assert_eq!("Production".parse::<Environment>(), Ok(Environment::Production));
        assert!("staging".parse::<Environment>().is_err());
    }
}
