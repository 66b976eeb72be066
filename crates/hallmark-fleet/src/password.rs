//! Where the fleet password comes from: `HALLMARK_FLEET_PASSWORD`, else the pgpass
//! file. Never the URL, never the TOML.

use crate::{FleetError, FleetUrl};
use std::path::{Path, PathBuf};

/// The environment variable holding the station's fleet password.
pub const PASSWORD_ENV: &str = "HALLMARK_FLEET_PASSWORD";

/// The password for `url`: `HALLMARK_FLEET_PASSWORD` when set and not empty, else the
/// first matching line of the pgpass file (`PGPASSFILE`, else `~/.pgpass`), else
/// `None` (the server may not ask for one). Refuses a URL that carries a password,
/// and a pgpass file others can read (as libpq ignores it).
pub fn fleet_password(url: &str) -> Result<Option<String>, FleetError> {
    let url = FleetUrl::parse(url)?;
    let env = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty());
    let file =
        std::env::var_os("PGPASSFILE").map(PathBuf::from).or_else(|| dirs::home_dir().map(|h| h.join(".pgpass")));
    password_from(&url, env, file.as_deref())
}

/// [`fleet_password`] with its sources given.
pub(crate) fn password_from(
    url: &FleetUrl,
    env: Option<String>,
    pgpass: Option<&Path>,
) -> Result<Option<String>, FleetError> {
    if env.is_some() {
        return Ok(env);
    }
    let Some(path) = pgpass else { return Ok(None) };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FleetError::PasswordFile { path: path.display().to_string(), why: e.to_string() }),
    };
    if !meta.is_file() {
        return Err(FleetError::PasswordFile { path: path.display().to_string(), why: "it is not a file".into() });
    }
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(FleetError::PasswordFile {
                path: path.display().to_string(),
                why: format!("other users may read it; run `chmod 600 {}`", path.display()),
            });
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| FleetError::PasswordFile { path: path.display().to_string(), why: e.to_string() })?;
    Ok(lookup(&text, url))
}

/// The password of the first line matching `url` in pgpass text.
fn lookup(text: &str, url: &FleetUrl) -> Option<String> {
    let port = url.port.to_string();
    let wanted = [url.host.as_str(), port.as_str(), url.dbname.as_str(), url.user.as_str()];
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_fields(line);
        if fields.len() < 5 {
            continue;
        }
        if fields[..4].iter().zip(wanted).all(|(field, want)| field == "*" || field == want) {
            return Some(fields[4].clone());
        }
    }
    None
}

/// Splits a pgpass line at unescaped `:`, undoing `\:` and `\\` (like libpq, the
/// password ends at an unescaped `:`).
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            // libpq keeps the escaped character, whatever it is.
            '\\' => current.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn url() -> FleetUrl {
        FleetUrl::parse("postgresql://station_a@fleet.example:5432/hallmark").unwrap()
    }

    #[test]
    fn the_environment_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "*:*:*:*:from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(password_from(&url(), Some("from-env".into()), Some(&file)).unwrap().as_deref(), Some("from-env"));
        assert_eq!(password_from(&url(), None, Some(&file)).unwrap().as_deref(), Some("from-file"));
        assert_eq!(password_from(&url(), None, Some(&dir.path().join("missing"))).unwrap(), None);
        assert_eq!(password_from(&url(), None, None).unwrap(), None);
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    other:5432:hallmark:station_a:wrong-host\n\
                    fleet.example:5433:hallmark:station_a:wrong-port\n\
                    fleet.example:*:hallmark:station_b:wrong-user\n\
                    fleet.example:*:hallmark:station_a:p\\:ass\\\\word:with colon\n\
                    *:*:*:*:too-late\n";
        assert_eq!(lookup(text, &url()).as_deref(), Some("p:ass\\word"));
        assert_eq!(lookup("*:*:*:*:any", &url()).as_deref(), Some("any"));
        assert_eq!(lookup("fleet.example:5432:hallmark:station_a\n", &url()), None, "four fields: no password");
        let escaped_host = FleetUrl::parse("postgresql://u@[::1]:5432/db").unwrap();
        assert_eq!(lookup("\\:\\:1:5432:db:u:v6\r\n", &escaped_host).as_deref(), Some("v6"));
    }

    #[test]
    fn a_pgpass_file_others_can_read_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = password_from(&url(), None, Some(&file)).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        assert!(!e.contains("secret"));
    }

    #[test]
    fn a_url_with_a_password_is_refused() {
        assert!(matches!(fleet_password("postgresql://u:pw@h/db"), Err(FleetError::PasswordInUrl)));
    }
}
