//! A look at SQLite's write-ahead log before SQLite opens it, to say what a damaged tail cost.
//!
//! SQLite recovers a WAL by itself: it uses the frames up to the last intact commit and
//! ignores the rest. It does so silently; the journal reads the log first (format: SQLite's
//! "Database File Format", section "The Write-Ahead Log") and reports a frame that carries
//! the current salt but fails its checksum, or a torn last frame, as a damaged tail. Frames
//! of an earlier generation (other salt) are normal leftovers and are not reported.

/// What the write-ahead log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalReport {
    /// Intact frames up to and including the last commit (what SQLite will use).
    pub committed_frames: u64,
    /// Intact frames after the last commit: a write interrupted before its commit.
    pub uncommitted_frames: u64,
    /// Frames of the current generation that are damaged (bad checksum or torn), if any.
    pub damaged_frames: u64,
    /// The header itself is damaged: SQLite will ignore the whole log.
    pub damaged_header: bool,
}

impl WalReport {
    /// The warning to log, if anything was lost or rolled back.
    pub fn warning(&self) -> Option<String> {
        if self.damaged_header {
            return Some(
                "the journal's write-ahead log has a damaged header; SQLite ignores it, so the last \
                 writes before the crash are lost"
                    .to_owned(),
            );
        }
        if self.damaged_frames > 0 {
            return Some(format!(
                "the journal's write-ahead log has a damaged tail ({} damaged frame(s) after {} intact ones); \
                 recovered up to the last intact commit",
                self.damaged_frames, self.committed_frames
            ));
        }
        if self.uncommitted_frames > 0 {
            return Some(format!(
                "a journal write was interrupted before its commit ({} frame(s) rolled back); \
                 it was never acknowledged",
                self.uncommitted_frames
            ));
        }
        None
    }
}

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// SQLite's WAL checksum: pairs of 32-bit words in the log's byte order, continuing from `seed`.
fn checksum(data: &[u8], big_endian: bool, seed: (u32, u32)) -> (u32, u32) {
    let (mut s0, mut s1) = seed;
    for pair in data.chunks_exact(8) {
        let word = |b: &[u8]| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
        };
        s0 = s0.wrapping_add(word(&pair[0..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..8])).wrapping_add(s0);
    }
    (s0, s1)
}

/// Reads a WAL file's bytes. `None` when there is nothing to say (empty file).
pub fn inspect(bytes: &[u8]) -> Option<WalReport> {
    if bytes.is_empty() {
        return None;
    }
    let mut report =
        WalReport { committed_frames: 0, uncommitted_frames: 0, damaged_frames: 0, damaged_header: false };
    let header = match bytes.get(..HEADER) {
        Some(h) => h,
        None => {
            report.damaged_header = true;
            return Some(report);
        }
    };
    let magic = be32(header, 0)?;
    let big_endian = match magic {
        0x377f_0682 => false,
        0x377f_0683 => true,
        _ => {
            report.damaged_header = true;
            return Some(report);
        }
    };
    let page_size = match be32(header, 8)? {
        1 => 65_536,
        n if (512..=32_768).contains(&n) && n.is_power_of_two() => n as usize,
        _ => {
            report.damaged_header = true;
            return Some(report);
        }
    };
    let salts = (be32(header, 16)?, be32(header, 20)?);
    let mut sum = checksum(&header[..24], big_endian, (0, 0));
    if sum != (be32(header, 24)?, be32(header, 28)?) {
        report.damaged_header = true;
        return Some(report);
    }
    let frame_len = FRAME_HEADER + page_size;
    let mut offset = HEADER;
    let mut intact = 0u64;
    while offset < bytes.len() {
        let frame = &bytes[offset..];
        let same_generation = be32(frame, 8).zip(be32(frame, 12)) == Some(salts);
        if frame.len() < frame_len {
            // A torn last frame of this generation is damage; too short to tell, or another
            // generation's leftover, is not.
            if same_generation {
                report.damaged_frames += 1;
            }
            break;
        }
        if !same_generation {
            break;
        }
        let next = checksum(&frame[..8], big_endian, sum);
        let next = checksum(&frame[FRAME_HEADER..frame_len], big_endian, next);
        if Some(next) != be32(frame, 16).zip(be32(frame, 20)) {
            // This frame and whatever follows it in this generation are unusable.
            let mut rest = offset;
            while rest < bytes.len() {
                let tail = &bytes[rest..];
                if be32(tail, 8).zip(be32(tail, 12)) != Some(salts) {
                    break;
                }
                report.damaged_frames += 1;
                rest += frame_len;
            }
            break;
        }
        sum = next;
        intact += 1;
        if be32(frame, 4).is_some_and(|size| size != 0) {
            report.committed_frames = intact;
        }
        offset += frame_len;
    }
    report.uncommitted_frames = intact - report.committed_frames;
    Some(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A WAL file as a crash would leave it: the connection stays open while it is copied.
    fn crash_image(commits: usize) -> (tempfile::TempDir, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("j.sqlite3");
        let conn = Connection::open(&db).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x TEXT);",
        )
        .expect("setup");
        for i in 0..commits {
            conn.execute("INSERT INTO t VALUES (?1)", [format!("row {i} {}", "x".repeat(300))])
                .expect("insert");
        }
        let wal = std::fs::read(dir.path().join("j.sqlite3-wal")).expect("wal");
        (dir, wal)
    }

    #[test]
    fn an_intact_log_reports_nothing() {
        let (_dir, wal) = crash_image(20);
        let report = inspect(&wal).expect("report");
        assert!(report.committed_frames >= 20, "{report:?}");
        assert_eq!((report.damaged_frames, report.uncommitted_frames, report.damaged_header), (0, 0, false));
        assert_eq!(report.warning(), None);
    }

    #[test]
    fn a_flipped_byte_in_the_last_frame_is_a_damaged_tail() {
        let (_dir, mut wal) = crash_image(20);
        let len = wal.len();
        wal[len - 100] ^= 0xff;
        let report = inspect(&wal).expect("report");
        assert_eq!(report.damaged_frames, 1, "{report:?}");
        assert!(report.warning().is_some_and(|w| w.contains("damaged tail")));
    }

    #[test]
    fn a_torn_last_frame_is_a_damaged_tail() {
        let (_dir, wal) = crash_image(20);
        let torn = &wal[..wal.len() - 1000];
        let report = inspect(torn).expect("report");
        assert_eq!(report.damaged_frames, 1, "{report:?}");
    }

    #[test]
    fn a_damaged_header_is_reported() {
        let (_dir, mut wal) = crash_image(3);
        wal[17] ^= 1;
        assert!(inspect(&wal).expect("report").damaged_header);
        assert!(inspect(&wal[..10]).expect("report").damaged_header);
        assert_eq!(inspect(&[]), None);
    }

    #[test]
    fn sqlite_recovers_exactly_the_frames_reported_intact() {
        let (dir, mut wal) = crash_image(20);
        let len = wal.len();
        wal[len - 100] ^= 0xff;
        // Put the damaged crash image next to a copy of the database and let SQLite recover it.
        let copy = dir.path().join("copy.sqlite3");
        std::fs::copy(dir.path().join("j.sqlite3"), &copy).expect("copy db");
        std::fs::write(dir.path().join("copy.sqlite3-wal"), &wal).expect("write wal");
        let conn = Connection::open(&copy).expect("open copy");
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count");
        // Every insert is its own commit of one page; the damaged last frame loses the last one.
        assert_eq!(rows, 19);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x1234_5678u32;
        for len in [0usize, 1, 31, 32, 33, 56, 600, 5000] {
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect();
            let _ = inspect(&bytes);
            if bytes.len() >= 4 {
                bytes[..4].copy_from_slice(&0x377f_0682u32.to_be_bytes());
                let _ = inspect(&bytes);
            }
        }
    }
}
