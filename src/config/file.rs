//! Where the config file is and reading it: `--config` / `KINGEST_CONFIG`, else
//! `$XDG_CONFIG_HOME/kingest/config.toml`, else `~/.config/kingest/config.toml` (the platform's
//! config dir where there is no HOME, e.g. Windows).

use std::path::{Path, PathBuf};

use super::FileConfig;

/// The default config file path, if the platform has one.
pub fn default_path() -> Option<PathBuf> {
    // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored.
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let home = || {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .map(|h| h.join(".config"))
    };
    match xdg.or_else(home) {
        Some(dir) => Some(dir.join("kingest").join("config.toml")),
        None => directories::ProjectDirs::from("", "", "kingest")
            .map(|d| d.config_dir().join("config.toml")),
    }
}

/// The file in use: the explicit one (`--config`, `KINGEST_CONFIG`) or the default path, and
/// whether it was explicit (an explicit file must exist; the default may be absent).
pub fn path_in_use(explicit: Option<&Path>) -> Option<(PathBuf, bool)> {
    match explicit {
        Some(p) => Some((p.to_path_buf(), true)),
        None => default_path().map(|p| (p, false)),
    }
}

/// Where logs, the submission journal and archives go by default.
pub fn state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "kingest")
        .map(|d| d.data_local_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("kingest"))
}

/// A config file larger than this is refused rather than read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Loads `path` (an explicit path must exist; the default path may be absent). Only a regular
/// file is read: a FIFO, a directory or a device (`/dev/zero`) is refused before opening it,
/// since reading one could block or never end.
pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some((path, required)) = path_in_use(path) else {
        return Ok(FileConfig::default());
    };
    match read_regular(&path) {
        Ok(text) => super::parse_file(&text, &path)
            .map_err(|e| anyhow::anyhow!("config file {}, {e}", path.display())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(anyhow::anyhow!(
            "cannot read config file {}: {e}",
            path.display()
        )),
    }
}

/// The text of `path` if it is a regular file of a sane size (symlinks followed).
pub fn read_regular(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device?)"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}; a config file must be a regular file"),
        ));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "it is {} bytes, over the {MAX_CONFIG_BYTES}-byte limit",
                meta.len()
            ),
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Replaces `path` with `text` through a temporary file beside it (a crash leaves the old file
/// or the new one, never half of one); a new file is private (0600): it may hold a secret.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    let tmp = dir
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| {
        use std::io::Write as _;
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        // An existing file keeps its permissions.
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_explicit_file_is_an_error() {
        assert!(load(Some(Path::new("/nonexistent/kingest.toml"))).is_err());
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let e = format!("{:#}", load(Some(dir.path())).unwrap_err());
        assert!(e.contains("a directory"), "{e}");
        // A device that never ends: refused without reading (this would not return otherwise).
        let e = format!("{:#}", load(Some(Path::new("/dev/zero"))).unwrap_err());
        assert!(e.contains("not a regular file"), "{e}");
        let good = dir.path().join("c.toml");
        std::fs::write(&good, "[timeouts]\nstorage_secs = 1.5\n").unwrap();
        let c = load(Some(&good)).unwrap();
        assert_eq!(c.top.timeouts.unwrap().storage_secs, Some(1.5));
    }

    #[test]
    fn atomic_write_replaces_and_creates_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/config.toml");
        write_atomic(&p, "a = 1\n").unwrap();
        write_atomic(&p, "b = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b = 2\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
