//! Daily log files: `refill.YYYY-MM-DD.log` (UTC dates) in one folder, a new file each day, the
//! last [`LOG_DAYS_KEPT`](crate::LOG_DAYS_KEPT) kept.
//!
//! Written here rather than with `tracing-appender`: its rolling appender parses date formats at
//! run time, which cost the app's binary ~80 KB for what is a date in a file name.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use time::Date;

const PREFIX: &str = "refill.";
const SUFFIX: &str = ".log";

/// Where the log lines of one process go; hand it to `tracing_subscriber`'s `with_writer`.
pub struct DailyFiles {
    folder: PathBuf,
    kept: usize,
    open: Mutex<Option<(Date, File)>>,
}

impl DailyFiles {
    /// Opens (or makes) today's file in `folder`, making the folder if needed, and removes all
    /// but the newest `kept` log files there. Fails when the folder cannot be written.
    pub fn new(folder: &Path, kept: usize) -> io::Result<Self> {
        std::fs::create_dir_all(folder)?;
        let files = Self {
            folder: folder.to_owned(),
            kept: kept.max(1),
            open: Mutex::new(None),
        };
        files.roll_to(
            today(),
            &mut files.open.lock().unwrap_or_else(|e| e.into_inner()),
        )?;
        Ok(files)
    }

    /// The file of `date`.
    pub fn path_of(&self, date: Date) -> PathBuf {
        self.folder.join(format!(
            "{PREFIX}{:04}-{:02}-{:02}{SUFFIX}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ))
    }

    /// Appends `line` to the file of `date`, opening that file (and pruning old ones) when the
    /// date is not the open file's.
    pub fn write_on(&self, date: Date, line: &[u8]) -> io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.as_ref().map(|(day, _)| *day) != Some(date) {
            self.roll_to(date, &mut open)?;
        }
        match open.as_mut() {
            Some((_, file)) => file.write_all(line),
            None => Ok(()),
        }
    }

    fn roll_to(&self, date: Date, open: &mut Option<(Date, File)>) -> io::Result<()> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(self.path_of(date))?;
        *open = Some((date, file));
        self.prune();
        Ok(())
    }

    /// Removes all but the newest `kept` log files (their names sort by date). A file that cannot
    /// be removed stays: logging goes on.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.folder) else {
            return;
        };
        let mut logs: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.len() == PREFIX.len() + 10 + SUFFIX.len()
                        && n.starts_with(PREFIX)
                        && n.ends_with(SUFFIX)
                })
            })
            .collect();
        logs.sort();
        let old = logs.len().saturating_sub(self.kept);
        for path in &logs[..old] {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// One event's lines, written to the day's file when the formatter is done with it.
pub struct DailyWriter<'a>(&'a DailyFiles);

impl Write for DailyWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_on(today(), buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for DailyFiles {
    type Writer = DailyWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        DailyWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn each_day_has_its_file_and_only_the_newest_are_kept() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("notes.txt"), "not a log").unwrap();
        // Today's file, made on opening, is older than these and goes too.
        let files = DailyFiles::new(folder.path(), 3).unwrap();
        let first = date!(2099 - 01 - 30);
        for day in 0..5 {
            let date = first + time::Duration::days(day);
            files.write_on(date, b"one\n").unwrap();
            files.write_on(date, b"two\n").unwrap();
        }
        assert_eq!(
            names(folder.path()),
            [
                "notes.txt",
                "refill.2099-02-01.log",
                "refill.2099-02-02.log",
                "refill.2099-02-03.log"
            ]
        );
        let last = std::fs::read_to_string(folder.path().join("refill.2099-02-03.log")).unwrap();
        assert_eq!(last, "one\ntwo\n");
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_an_error() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        assert!(DailyFiles::new(&file.join("logs"), 7).is_err());
    }
}
