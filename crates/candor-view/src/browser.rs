//! Opening the page in the user's browser, when there is one, without putting the secret on a
//! command line.
//!
//! A browser's arguments are readable by every local user (`/proc/<pid>/cmdline`, `ps`), and a
//! browser started fresh keeps them for as long as it runs. So the browser is given a file
//! instead (as Jupyter does): a small HTML page that redirects to the secret URL, in a folder
//! of its own that only this user can enter (`0700`, the file `0600`), removed when the view
//! stops.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The page that sends the browser on to the secret URL; removed (with its folder) when
/// dropped.
#[derive(Debug)]
pub struct RedirectFile {
    folder: tempfile::TempDir,
    path: PathBuf,
}

impl RedirectFile {
    /// Writes the page for `url` in a new private folder under the user's runtime folder
    /// (`$XDG_RUNTIME_DIR`) when there is one, else the temporary folder.
    pub fn new(url: &str, runtime_dir: Option<&Path>) -> Result<Self, String> {
        let parent = runtime_dir
            .filter(|d| d.is_absolute() && d.is_dir())
            .map_or_else(std::env::temp_dir, Path::to_path_buf);
        // A folder with a random name that only this user may enter.
        let mut builder = tempfile::Builder::new();
        builder.prefix("candor-view-");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let folder = builder
            .tempdir_in(&parent)
            .map_err(|e| format!("cannot make a folder in {}: {e}", parent.display()))?;
        let path = folder.path().join("open.html");
        let url = candor_html::escape(url);
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"referrer\" content=\"no-referrer\">\
             <meta http-equiv=\"refresh\" content=\"0;url={url}\"><title>Candor</title></head>\
             <body><p><a href=\"{url}\">Open Candor's page</a></p></body></html>\n"
        );
        // Created `0600` under a unique temporary name and renamed into place.
        match candor_state::file::create_new(&path, page.as_bytes()) {
            Ok(true) => Ok(Self { folder, path }),
            Ok(false) => Err(format!("{} already exists", path.display())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The page's path, which is all the browser is told.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The private folder it is in.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }
}

/// Opens `page` (a local file) with `$BROWSER` (its first entry; `%s` stands for the page,
/// otherwise the page is the last argument) or else `xdg-open`, without a shell. Returns the
/// program started; an error when none could be. The browser is not waited for.
pub fn open_browser(page: &Path, browser_variable: Option<&str>) -> Result<String, String> {
    let page = page.to_string_lossy();
    let (program, args) = match browser_variable
        .and_then(|b| b.split(':').next())
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        Some(entry) => {
            let mut words = entry.split_whitespace();
            let program = words.next().unwrap_or(entry).to_owned();
            let mut args: Vec<String> = words.map(|w| w.replace("%s", &page)).collect();
            if !entry.contains("%s") {
                args.push(page.into_owned());
            }
            (program, args)
        }
        None => ("xdg-open".to_owned(), vec![page.into_owned()]),
    };
    let mut child = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    // Reaped in the background, so no zombie is left while the page is served.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(program)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_page_is_private_redirects_and_goes_away() {
        let runtime = tempfile::tempdir().expect("tmp");
        let url = "http://127.0.0.1:9/0123456789abcdef0123456789abcdef/";
        let file = RedirectFile::new(url, Some(runtime.path())).expect("written");
        assert!(file.path().starts_with(runtime.path()));
        assert!(!file.path().to_string_lossy().contains("0123456789abcdef"));
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(file.folder()), 0o700);
        assert_eq!(mode(file.path()), 0o600);
        let page = std::fs::read_to_string(file.path()).expect("read");
        assert!(page.contains(&format!("content=\"0;url={url}\"")), "{page}");
        let folder = file.folder().to_owned();
        drop(file);
        assert!(!folder.exists());
    }
}
