//! The fleet URL: `postgresql://USER@HOST:PORT/DB[?sslmode=verify-full&sslrootcert=FILE]`.

use crate::FleetError;
use std::path::PathBuf;

/// A parsed fleet URL. It never holds a password: a URL with one is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetUrl {
    /// Database role.
    pub user: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port (5432 when the URL names none).
    pub port: u16,
    /// Database.
    pub dbname: String,
    /// `Some(CA file)` for `sslmode=verify-full`: TLS, the server's certificate checked
    /// against that CA and the host name. `None`: a plain connection.
    pub verify_full_ca: Option<PathBuf>,
}

impl FleetUrl {
    /// Parses a URL. Refuses passwords, TLS modes other than `verify-full`, and
    /// options it does not know.
    pub fn parse(url: &str) -> Result<FleetUrl, FleetError> {
        let bad = |why: &str| FleetError::Url { url: url.to_string(), why: why.to_string() };
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or_else(|| bad("it does not start with postgresql://"))?;
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a, p),
            None => (main, ""),
        };
        let (userinfo, hostport) = authority.rsplit_once('@').ok_or_else(|| bad("it names no user (USER@HOST)"))?;
        if userinfo.contains(':') {
            return Err(FleetError::PasswordInUrl);
        }
        let user = decode(userinfo).ok_or_else(|| bad("the user name has a broken %-escape"))?;
        if user.is_empty() {
            return Err(bad("the user name is empty"));
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("an IPv6 address misses its ']'"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("something follows the IPv6 address"))?),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("it names no host"));
        }
        if host.contains(',') {
            return Err(bad("only one host is supported"));
        }
        let port = match port {
            None => 5432,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        };
        let dbname = decode(path).ok_or_else(|| bad("the database name has a broken %-escape"))?;
        if dbname.is_empty() {
            return Err(bad("it names no database (/DB after the port)"));
        }
        let mut sslmode = None;
        let mut sslrootcert = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).ok_or_else(|| bad("an option has a broken %-escape"))?;
            match key {
                "sslmode" => sslmode = Some(value),
                "sslrootcert" => sslrootcert = Some(PathBuf::from(value)),
                "password" => return Err(FleetError::PasswordInUrl),
                other => {
                    return Err(bad(&format!("the option {other:?} is not supported (only sslmode and sslrootcert)")))
                }
            }
        }
        let verify_full_ca = match sslmode.as_deref() {
            None | Some("disable") => {
                if sslrootcert.is_some() {
                    return Err(bad("sslrootcert is given without sslmode=verify-full"));
                }
                None
            }
            Some("verify-full") => Some(sslrootcert.ok_or_else(|| FleetError::TlsCa {
                path: "(none)".into(),
                why: "sslmode=verify-full needs sslrootcert=CA-FILE in the URL".into(),
            })?),
            Some(other) => return Err(FleetError::TlsMode { mode: other.to_string() }),
        };
        Ok(FleetUrl { user, host, port, dbname, verify_full_ca })
    }

    /// `USER@HOST:PORT/DB`, for messages.
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]:{}/{}", self.user, self.host, self.port, self.dbname)
        } else {
            format!("{}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
        }
    }
}

/// Percent-decoding; `None` for a broken escape or bytes that are not UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_form_parses() {
        let u = FleetUrl::parse("postgresql://station_a@fleet-db:6543/hallmark").unwrap();
        assert_eq!(
            u,
            FleetUrl {
                user: "station_a".into(),
                host: "fleet-db".into(),
                port: 6543,
                dbname: "hallmark".into(),
                verify_full_ca: None
            }
        );
        assert_eq!(u.target(), "station_a@fleet-db:6543/hallmark");
        let u = FleetUrl::parse("postgres://a%40b@[::1]/db%20x").unwrap();
        assert_eq!((u.user.as_str(), u.host.as_str(), u.port, u.dbname.as_str()), ("a@b", "::1", 5432, "db x"));
        assert_eq!(u.target(), "a@b@[::1]:5432/db x");
    }

    #[test]
    fn a_password_in_the_url_is_refused_in_words() {
        for url in ["postgresql://u:secret@h:5432/db", "postgresql://u:@h/db", "postgresql://u@h/db?password=x"] {
            let e = FleetUrl::parse(url).unwrap_err();
            assert!(matches!(e, FleetError::PasswordInUrl), "{url}: {e}");
            assert!(e.to_string().contains("HALLMARK_FLEET_PASSWORD"));
            assert!(!e.to_string().contains("secret"));
        }
    }

    #[test]
    fn tls_modes() {
        let u = FleetUrl::parse("postgresql://u@h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(u.verify_full_ca, Some(PathBuf::from("/etc/ca.pem")));
        assert!(FleetUrl::parse("postgresql://u@h/db?sslmode=disable").unwrap().verify_full_ca.is_none());
        for mode in ["require", "prefer", "verify-ca", "allow"] {
            let e = FleetUrl::parse(&format!("postgresql://u@h/db?sslmode={mode}")).unwrap_err();
            assert!(matches!(e, FleetError::TlsMode { .. }), "{mode}");
            assert!(e.to_string().contains("verify-full"));
        }
        let e = FleetUrl::parse("postgresql://u@h/db?sslmode=verify-full").unwrap_err();
        assert!(e.to_string().contains("sslrootcert"), "{e}");
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        for (url, words) in [
            ("mysql://u@h/db", "postgresql://"),
            ("postgresql://h:5432/db", "no user"),
            ("postgresql://u@h:99999/db", "port"),
            ("postgresql://u@h:5432", "no database"),
            ("postgresql://u@/db", "no host"),
            ("postgresql://u@h/db?connect_timeout=3", "not supported"),
            ("postgresql://u@h/db%zz", "%-escape"),
        ] {
            let e = FleetUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(words), "{url}: {e}");
        }
    }
}
