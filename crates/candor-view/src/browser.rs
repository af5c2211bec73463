//! Opening the page in the user's browser, when there is one.

use std::process::{Command, Stdio};

/// Opens `url` with `$BROWSER` (its first entry; `%s` stands for the URL, otherwise the URL is
/// the last argument) or else `xdg-open`, without a shell. Returns the program started; an
/// error when none could be. The browser is not waited for.
pub fn open_browser(url: &str, browser_variable: Option<&str>) -> Result<String, String> {
    let (program, args) = match browser_variable
        .and_then(|b| b.split(':').next())
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        Some(entry) => {
            let mut words = entry.split_whitespace();
            let program = words.next().unwrap_or(entry).to_owned();
            let mut args: Vec<String> = words.map(|w| w.replace("%s", url)).collect();
            if !entry.contains("%s") {
                args.push(url.to_owned());
            }
            (program, args)
        }
        None => ("xdg-open".to_owned(), vec![url.to_owned()]),
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
