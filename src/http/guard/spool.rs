//! A body held whole: in memory up to a limit, past it in an anonymous temp file (deleted as
//! soon as it is closed), so that large uploads and downloads do not grow the process.

use std::fs::File;
use std::io::{self, Read, Seek, Write};

pub(super) struct Spool {
    memory: Vec<u8>,
    file: Option<File>,
    in_memory_limit: u64,
    pub len: u64,
}

impl Spool {
    pub fn new(in_memory_limit: u64) -> Self {
        Spool {
            memory: Vec::new(),
            file: None,
            in_memory_limit,
            len: 0,
        }
    }

    /// The whole content, to read from its start.
    pub fn into_reader(self) -> io::Result<Box<dyn Read + Send>> {
        match self.file {
            None => Ok(Box::new(io::Cursor::new(self.memory))),
            Some(mut f) => {
                f.seek(io::SeekFrom::Start(0))?;
                Ok(Box::new(io::BufReader::with_capacity(64 * 1024, f)))
            }
        }
    }

    /// Writes the whole content to `out`.
    pub fn send_to(&mut self, out: &mut dyn Write) -> io::Result<()> {
        match self.file.as_mut() {
            None => out.write_all(&self.memory),
            Some(f) => {
                f.seek(io::SeekFrom::Start(0))?;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    out.write_all(&buf[..n])?;
                }
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.len + buf.len() as u64 > self.in_memory_limit {
            let mut f = tempfile::tempfile()?;
            f.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(f);
        }
        match self.file.as_mut() {
            Some(f) => f.write_all(buf)?,
            None => self.memory.extend_from_slice(buf),
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
