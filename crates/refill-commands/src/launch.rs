//! One running app per data folder, and `refill://` links from the desktop.
//!
//! The first launch for a data folder holds a lock on `instance.lock` there and listens on a
//! loopback port, which it writes with a one-off key to `instance.json` (readable by the user
//! only). A later launch for the same folder, such as the one the desktop starts when the browser
//! opens a `refill://auth?…` link at the end of a sign-in, proves it knows the key, hands over its
//! arguments and exits; the first brings its window forward and gives the link to the sign-in
//! waiting for it ([`crate::AppCore::open_links`]). The lock, not the files, decides who is first,
//! so a crash leaves nothing to clean up.
//!
//! [`register_link_handler`] tells a Linux desktop (freedesktop.org) to open `refill://` links
//! with this very binary; installed packages declare it themselves.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// The lock the first launch holds.
pub const LOCK_FILE: &str = "instance.lock";
/// Where the first launch listens, and its key.
pub const ADDRESS_FILE: &str = "instance.json";
/// How long a later launch keeps trying to reach the first (which may be starting or closing).
pub const PATIENCE: Duration = Duration::from_secs(10);
/// The largest message a launch may send.
const MAX_MESSAGE: u64 = 64 * 1024;
/// How long one exchange between launches may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a launch could not find out whether it is the first.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The data folder cannot be written or locked.
    #[error("Refill could not use its data folder {}: {source}", path.display())]
    DataFolder {
        /// The folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Another launch holds the folder but does not take messages.
    #[error(
        "Refill is already running with the data folder {} but does not answer. Close that \
         window (or end the process) and try again.",
        path.display()
    )]
    NotAnswering {
        /// The folder.
        path: PathBuf,
    },
}

/// What a launch found.
#[derive(Debug)]
pub enum Claim {
    /// This launch is the app for the folder; later launches' arguments arrive through it.
    First(Instance),
    /// The app was already running: it took this launch's arguments.
    HandedOver,
}

#[derive(Serialize, Deserialize)]
struct Address {
    port: u16,
    key: String,
}

#[derive(Serialize, Deserialize)]
struct Hello {
    key: String,
}

#[derive(Serialize, Deserialize)]
struct Arguments {
    args: Vec<String>,
}

/// The running app's side: the lock, the listener, and the arguments of later launches.
#[derive(Debug)]
pub struct Instance {
    _lock: File,
    address_file: PathBuf,
    port: u16,
    open: Arc<AtomicBool>,
    messages: Option<mpsc::Receiver<Vec<String>>>,
}

/// Becomes the app for `data_dir`, or hands `args` to the app already running there, waiting up
/// to `patience` for it to answer.
pub fn claim(data_dir: &Path, args: &[String], patience: Duration) -> Result<Claim, LaunchError> {
    let folder_error = |source| LaunchError::DataFolder {
        path: data_dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(folder_error)?;
    let deadline = Instant::now() + patience;
    loop {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))
            .map_err(folder_error)?;
        match lock.try_lock() {
            Ok(()) => {
                return Instance::start(lock, data_dir)
                    .map(Claim::First)
                    .map_err(folder_error)
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(folder_error(e)),
        }
        drop(lock);
        match hand_over(data_dir, args) {
            Ok(()) => return Ok(Claim::HandedOver),
            // The first is still starting, or closing (then the lock frees up soon).
            Err(e) => tracing::debug!("the running app did not take the arguments yet: {e}"),
        }
        if Instant::now() >= deadline {
            return Err(LaunchError::NotAnswering {
                path: data_dir.to_owned(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one JSON line and reads the one-line answer.
fn exchange(
    stream: &mut BufReader<TcpStream>,
    message: &impl Serialize,
) -> std::io::Result<String> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    stream.get_mut().write_all(&line)?;
    let mut answer = String::new();
    stream.by_ref().take(64).read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

fn refused(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, what.to_owned())
}

/// A later launch's side: prove the key, then hand over the arguments.
fn hand_over(data_dir: &Path, args: &[String]) -> std::io::Result<()> {
    let address: Address = serde_json::from_slice(&std::fs::read(data_dir.join(ADDRESS_FILE))?)?;
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, address.port));
    let stream = TcpStream::connect_timeout(&to, EXCHANGE_TIMEOUT)?;
    stream.set_read_timeout(Some(EXCHANGE_TIMEOUT))?;
    stream.set_write_timeout(Some(EXCHANGE_TIMEOUT))?;
    let mut stream = BufReader::new(stream);
    // Whatever listens on a stale port does not answer "ok", and learns nothing but a dead key.
    if exchange(&mut stream, &Hello { key: address.key })? != "ok" {
        return Err(refused("not the running app"));
    }
    let args = Arguments {
        args: args.to_vec(),
    };
    match exchange(&mut stream, &args)?.as_str() {
        "ok" => Ok(()),
        _ => Err(refused("the running app is closing")),
    }
}

impl Instance {
    fn start(lock: File, data_dir: &Path) -> std::io::Result<Instance> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let key = format!("{:032x}", rand::random::<u128>());
        let address_file = data_dir.join(ADDRESS_FILE);
        write_private(
            &address_file,
            &serde_json::to_vec(&Address {
                port,
                key: key.clone(),
            })?,
        )?;
        let (deliver, messages) = mpsc::channel();
        let open = Arc::new(AtomicBool::new(true));
        let serving = Arc::clone(&open);
        std::thread::Builder::new()
            .name("refill-launches".to_owned())
            .spawn(move || serve(&listener, &key, &serving, &deliver))?;
        Ok(Instance {
            _lock: lock,
            address_file,
            port,
            open,
            messages: Some(messages),
        })
    }

    /// The arguments of each later launch, in order. Taken once.
    pub fn take_messages(&mut self) -> Option<mpsc::Receiver<Vec<String>>> {
        self.messages.take()
    }

    /// Stops taking messages: later launches wait until this process has exited, then start
    /// afresh. Call it when the app begins to close.
    pub fn close(&self) {
        if self.open.swap(false, Ordering::SeqCst) {
            let _ = std::fs::remove_file(&self.address_file);
            // Wakes the listener so that it sees it is closed.
            let _ = TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
                EXCHANGE_TIMEOUT,
            );
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.close();
    }
}

/// The running app's listener: one later launch at a time, each with a short time limit.
fn serve(
    listener: &TcpListener,
    key: &str,
    open: &AtomicBool,
    deliver: &mpsc::Sender<Vec<String>>,
) {
    for stream in listener.incoming() {
        if !open.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if let Err(e) = receive(stream, key, open, deliver) {
            tracing::warn!("refused a message from another launch of Refill: {e}");
        }
    }
}

fn read_message<T: for<'de> Deserialize<'de>>(
    stream: &mut BufReader<TcpStream>,
) -> std::io::Result<T> {
    let mut line = Vec::new();
    stream
        .by_ref()
        .take(MAX_MESSAGE)
        .read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(refused("the message was cut short or too long"));
    }
    Ok(serde_json::from_slice(&line)?)
}

fn receive(
    stream: TcpStream,
    key: &str,
    open: &AtomicBool,
    deliver: &mpsc::Sender<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(EXCHANGE_TIMEOUT))?;
    stream.set_write_timeout(Some(EXCHANGE_TIMEOUT))?;
    let mut stream = BufReader::new(stream);
    let hello: Hello = read_message(&mut stream)?;
    if hello.key != key {
        stream.get_mut().write_all(b"no\n")?;
        return Err(refused("it did not know the key"));
    }
    stream.get_mut().write_all(b"ok\n")?;
    let Arguments { args } = read_message(&mut stream)?;
    let taken = open.load(Ordering::SeqCst) && deliver.send(args).is_ok();
    stream
        .get_mut()
        .write_all(if taken { b"ok\n" } else { b"closing\n" })?;
    Ok(())
}

/// Writes `bytes` to `path` (replacing it whole), readable and writable by the user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut options = OpenOptions::new();
    options.create_new(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial)?;
    // No fsync: the file only matters while this process runs.
    file.write_all(bytes)?;
    drop(file);
    std::fs::rename(&partial, path)
}

/// Where a freedesktop.org desktop looks for application entries and their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopDirs {
    /// `$XDG_DATA_HOME` (default `~/.local/share`): entries go in its `applications` folder.
    pub data_home: PathBuf,
    /// `$XDG_CONFIG_HOME` (default `~/.config`): defaults go in its `mimeapps.list`.
    pub config_home: PathBuf,
}

impl DesktopDirs {
    /// The current user's folders, if there is a home to find them in.
    pub fn of_user() -> Option<DesktopDirs> {
        Some(DesktopDirs {
            data_home: dirs::data_dir()?,
            config_home: dirs::config_dir()?,
        })
    }
}

/// Quotes one argument of a desktop entry's `Exec` key (Desktop Entry Specification, "The Exec
/// key"), then escapes it as a string value.
fn exec_argument(arg: &str) -> String {
    let needs_quotes = arg.is_empty()
        || arg.chars().any(|c| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\''
                        | '\\'
                        | '>'
                        | '<'
                        | '~'
                        | '|'
                        | '&'
                        | ';'
                        | '$'
                        | '*'
                        | '?'
                        | '#'
                        | '('
                        | ')'
                        | '`'
                )
        });
    let mut quoted = String::new();
    if needs_quotes {
        quoted.push('"');
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
    } else {
        quoted.push_str(arg);
    }
    // Field codes are introduced by '%'; a literal one is doubled. Then the string-value escape.
    quoted.replace('%', "%%").replace('\\', "\\\\")
}

/// Starts `command` (a program and its arguments) when the user logs in (`on`), or no longer:
/// the XDG autostart entry `$XDG_CONFIG_HOME/autostart/<app_id>.desktop`, written or removed.
/// Returns the entry's path.
pub fn set_autostart(
    dirs: &DesktopDirs,
    app_id: &str,
    app_name: &str,
    command: &[String],
    on: bool,
) -> std::io::Result<PathBuf> {
    let folder = dirs.config_home.join("autostart");
    let entry_path = folder.join(format!("{app_id}.desktop"));
    if !on {
        return match std::fs::remove_file(&entry_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(entry_path),
        };
    }
    let exec: Vec<String> = command.iter().map(|a| exec_argument(a)).collect();
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName={app_name}\nComment=Keeps watching your supplies \
         in the background\nExec={}\nTerminal=false\nNoDisplay=true\n\
         X-GNOME-Autostart-enabled=true\n",
        exec.join(" ")
    );
    crate::cache::replace_file(&entry_path, entry.as_bytes())?;
    Ok(entry_path)
}

/// Makes `command` (a program and its arguments) the desktop's handler for `scheme://` links:
/// an application entry named after `app_id` in `$XDG_DATA_HOME/applications`, set as the
/// default for `x-scheme-handler/<scheme>` in `$XDG_CONFIG_HOME/mimeapps.list` (other entries
/// there are kept). Returns the entry's path.
pub fn register_link_handler(
    dirs: &DesktopDirs,
    app_id: &str,
    app_name: &str,
    scheme: &str,
    command: &[String],
) -> std::io::Result<PathBuf> {
    let mime = format!("x-scheme-handler/{scheme}");
    let entry_name = format!("{app_id}.links.desktop");
    let mut exec: Vec<String> = command.iter().map(|a| exec_argument(a)).collect();
    exec.push("%u".to_owned());
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName={app_name}\nComment=Opens {scheme}:// links \
         in {app_name}\nExec={}\nTerminal=false\nNoDisplay=true\nMimeType={mime};\n",
        exec.join(" ")
    );
    let applications = dirs.data_home.join("applications");
    std::fs::create_dir_all(&applications)?;
    let entry_path = applications.join(&entry_name);
    if std::fs::read_to_string(&entry_path).ok().as_deref() != Some(entry.as_str()) {
        std::fs::write(&entry_path, entry)?;
    }
    std::fs::create_dir_all(&dirs.config_home)?;
    let list_path = dirs.config_home.join("mimeapps.list");
    let list = match std::fs::read_to_string(&list_path) {
        Ok(list) => list,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let updated = set_default_application(&list, &mime, &entry_name);
    if updated != list {
        std::fs::write(&list_path, updated)?;
    }
    Ok(entry_path)
}

/// `list` (a `mimeapps.list`) with `entry` as the default application for `mime`, everything else
/// as it was.
fn set_default_application(list: &str, mime: &str, entry: &str) -> String {
    const SECTION: &str = "[Default Applications]";
    let setting = format!("{mime}={entry}");
    let mut out: Vec<String> = Vec::new();
    let mut in_section = false;
    let mut seen_section = false;
    let mut written = false;
    for line in list.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if in_section && !written {
                out.push(setting.clone());
                written = true;
            }
            in_section = trimmed == SECTION;
            seen_section |= in_section;
        } else if in_section
            && trimmed
                .split_once('=')
                .is_some_and(|(key, _)| key.trim() == mime)
        {
            if !written {
                out.push(setting.clone());
                written = true;
            }
            continue;
        }
        out.push(line.to_owned());
    }
    if !written {
        if !seen_section {
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(SECTION.to_owned());
        }
        out.push(setting);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    fn first(claim: Claim) -> Instance {
        match claim {
            Claim::First(instance) => instance,
            Claim::HandedOver => panic!("expected to be the first launch"),
        }
    }

    #[test]
    fn a_second_launch_hands_its_arguments_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = first(claim(dir.path(), &[], PATIENCE).unwrap());
        let messages = app.take_messages().unwrap();
        assert!(app.take_messages().is_none(), "taken once");
        let link = "refill://auth?code=c.1&state=s.1";
        let second = claim(dir.path(), &args(&[link]), PATIENCE).unwrap();
        assert!(matches!(second, Claim::HandedOver));
        let third = claim(dir.path(), &[], PATIENCE).unwrap();
        assert!(matches!(third, Claim::HandedOver));
        assert_eq!(messages.recv().unwrap(), [link]);
        assert!(messages.recv().unwrap().is_empty());
    }

    #[test]
    fn each_data_folder_has_its_own_app() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let _one = first(claim(one.path(), &[], PATIENCE).unwrap());
        let _two = first(claim(two.path(), &[], PATIENCE).unwrap());
    }

    #[test]
    fn the_next_launch_after_the_app_ends_is_first_again() {
        let dir = tempfile::tempdir().unwrap();
        let app = first(claim(dir.path(), &[], PATIENCE).unwrap());
        drop(app);
        // What a crash leaves behind: the address of a listener that is gone.
        std::fs::write(dir.path().join(ADDRESS_FILE), r#"{"port":9,"key":"stale"}"#).unwrap();
        let _again = first(claim(dir.path(), &[], PATIENCE).unwrap());
    }

    #[test]
    fn a_closing_app_makes_the_next_launch_wait_for_it_then_start_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let app = first(claim(dir.path(), &[], PATIENCE).unwrap());
        app.close();
        let ending = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(app);
        });
        let started = Instant::now();
        let _next = first(claim(dir.path(), &args(&["refill://auth?x"]), PATIENCE).unwrap());
        assert!(started.elapsed() >= Duration::from_millis(250));
        ending.join().unwrap();
    }

    #[test]
    fn an_app_that_holds_the_folder_but_never_answers_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let lock = File::create(dir.path().join(LOCK_FILE)).unwrap();
        lock.try_lock().unwrap();
        let err = claim(dir.path(), &[], Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, LaunchError::NotAnswering { .. }));
        assert!(err.to_string().contains("already running"), "{err}");
    }

    #[test]
    fn messages_without_the_key_or_malformed_are_refused_and_the_app_keeps_listening() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = first(claim(dir.path(), &[], PATIENCE).unwrap());
        let messages = app.take_messages().unwrap();
        let address: Address =
            serde_json::from_slice(&std::fs::read(dir.path().join(ADDRESS_FILE)).unwrap()).unwrap();
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, address.port));
        let talk = |bytes: &[u8]| {
            let mut s = TcpStream::connect(to).unwrap();
            // The app may hang up before reading everything.
            let _ = s.write_all(bytes);
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            answer
        };
        assert_eq!(talk(b"{\"key\":\"guess\"}\n"), "no\n");
        assert_eq!(talk(b"not json\n"), "");
        assert_eq!(talk(&vec![b'x'; 100_000]), "");
        assert_eq!(talk(b"{\"key\":"), "");
        assert!(messages.try_recv().is_err(), "nothing was delivered");
        // Still serving.
        let handed = claim(dir.path(), &args(&["refill://auth?ok"]), PATIENCE).unwrap();
        assert!(matches!(handed, Claim::HandedOver));
        assert_eq!(messages.recv().unwrap(), ["refill://auth?ok"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_address_file_is_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let _app = first(claim(dir.path(), &[], PATIENCE).unwrap());
        let mode = std::fs::metadata(dir.path().join(ADDRESS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn exec_arguments_are_quoted_as_the_desktop_entry_spec_says() {
        assert_eq!(exec_argument("/usr/bin/refill-app"), "/usr/bin/refill-app");
        assert_eq!(
            exec_argument("/home/a b/Refill $1"),
            r#""/home/a b/Refill \\$1""#
        );
        assert_eq!(exec_argument("50%"), "50%%");
        assert_eq!(exec_argument(""), r#""""#);
    }

    #[test]
    fn start_at_login_writes_an_autostart_entry_and_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DesktopDirs {
            data_home: dir.path().join("data"),
            config_home: dir.path().join("config"),
        };
        let command = ["/opt/my apps/refill-app".to_owned(), "--hidden".to_owned()];
        let entry = set_autostart(&dirs, "dev.refill.app", "Refill", &command, true).unwrap();
        assert_eq!(
            entry,
            dir.path().join("config/autostart/dev.refill.app.desktop")
        );
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(
            text.starts_with("[Desktop Entry]\nType=Application\nName=Refill\n"),
            "{text}"
        );
        assert!(
            text.contains("\nExec=\"/opt/my apps/refill-app\" --hidden\n"),
            "{text}"
        );
        // Off: gone; off again: nothing to do, no error.
        set_autostart(&dirs, "dev.refill.app", "Refill", &command, false).unwrap();
        assert!(!entry.exists());
        set_autostart(&dirs, "dev.refill.app", "Refill", &command, false).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("config/autostart"))
                .unwrap()
                .count(),
            0,
            "nothing half-written is left"
        );
    }

    #[test]
    fn the_link_handler_is_registered_without_disturbing_other_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DesktopDirs {
            data_home: dir.path().join("data"),
            config_home: dir.path().join("config"),
        };
        std::fs::create_dir_all(&dirs.config_home).unwrap();
        std::fs::write(
            dirs.config_home.join("mimeapps.list"),
            "[Added Associations]\ntext/plain=gedit.desktop;\n\n[Default Applications]\n\
             x-scheme-handler/refill=old.desktop\ntext/html=firefox.desktop\n",
        )
        .unwrap();
        let register = || {
            register_link_handler(
                &dirs,
                "dev.refill.app",
                "Refill",
                "refill",
                &args(&["/opt/my apps/refill-app", "--data-dir", "/d"]),
            )
            .unwrap()
        };
        let entry = register();
        assert_eq!(
            entry,
            dirs.data_home
                .join("applications/dev.refill.app.links.desktop")
        );
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(
            text.contains("Exec=\"/opt/my apps/refill-app\" --data-dir /d %u\n"),
            "{text}"
        );
        assert!(
            text.contains("MimeType=x-scheme-handler/refill;\n"),
            "{text}"
        );
        let list = std::fs::read_to_string(dirs.config_home.join("mimeapps.list")).unwrap();
        assert_eq!(
            list,
            "[Added Associations]\ntext/plain=gedit.desktop;\n\n[Default Applications]\n\
             x-scheme-handler/refill=dev.refill.app.links.desktop\ntext/html=firefox.desktop\n"
        );
        // Registering again changes nothing.
        register();
        assert_eq!(
            std::fs::read_to_string(dirs.config_home.join("mimeapps.list")).unwrap(),
            list
        );
    }

    #[test]
    fn a_default_is_added_where_there_was_none() {
        let m = "x-scheme-handler/refill";
        assert_eq!(
            set_default_application("", m, "r.desktop"),
            "[Default Applications]\nx-scheme-handler/refill=r.desktop\n"
        );
        assert_eq!(
            set_default_application("[Added Associations]\na=b;\n", m, "r.desktop"),
            "[Added Associations]\na=b;\n\n[Default Applications]\nx-scheme-handler/refill=r.desktop\n"
        );
        assert_eq!(
            set_default_application(
                "[Default Applications]\na=b.desktop\n[Other]\nx=y\n",
                m,
                "r.desktop"
            ),
            "[Default Applications]\na=b.desktop\nx-scheme-handler/refill=r.desktop\n[Other]\nx=y\n"
        );
    }
}
