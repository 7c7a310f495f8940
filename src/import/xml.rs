//! A pull reader over an export file: the readers walk the document's outer elements one at a
//! time and build only one entry at a time in memory, so memory stays flat whatever the file's size.

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use quick_xml::{
    NsReader,
    encoding::EncodingError,
    events::{BytesRef, BytesStart, Event},
    name::ResolveResult,
};

/// One entry larger than this is refused (Blogger caps a post at 1 MB; WordPress rarely passes 10).
const MAX_ELEMENT_BYTES: usize = 64 * 1024 * 1024;
/// What an element or attribute costs in memory besides its text, counted against the cap.
const ELEMENT_COST: usize = 128;
/// Deeper nesting than this inside one entry is refused (real exports nest a few levels).
const MAX_DEPTH: usize = 256;

/// Counts the bytes and lines the parser has consumed, for error messages and the progress bar,
/// and bounds what one event may take: quick-xml buffers a whole event (a text node, a start
/// tag with its attributes) before it hands it over, so the entry's size cap alone would come
/// too late for one huge text node. Past `MAX_ELEMENT_BYTES` in one event, reading stops.
pub struct Counting<R> {
    inner: R,
    lines: u64,
    bytes: Arc<AtomicU64>,
    /// Bytes consumed since the current event began.
    in_event: usize,
    /// The last event went over the bound.
    over: bool,
}

impl<R> Counting<R> {
    /// A new event begins.
    fn next_event(&mut self) {
        self.in_event = 0;
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines += bytecount(&buf[..n]);
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.in_event > MAX_ELEMENT_BYTES {
            self.over = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "one piece of the file is larger than the limit",
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            self.lines += bytecount(&buf[..amt]);
        }
        self.in_event = self.in_event.saturating_add(amt);
        self.bytes.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt);
    }
}

fn bytecount(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// An element with everything inside it: an entry, or a small header element.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
    pub line: u64,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The text of a child, trimmed; empty when there is none.
    pub fn text_of(&self, ns: &str, name: &str) -> &str {
        self.child(ns, name).map_or("", |c| c.text.trim())
    }

    /// All the text inside, for elements that hold text only. Characters XML cannot hold
    /// (controls other than tab and line ends) are dropped, so nothing imported can break a feed.
    fn push_text(&mut self, text: &str) {
        if text.chars().all(is_xml_char) {
            self.text.push_str(text);
        } else {
            self.text.extend(text.chars().filter(|&c| is_xml_char(c)));
        }
    }

    /// An element whose start was just read, before anything inside it.
    fn opened(start: Start) -> Element {
        Element {
            ns: start.ns,
            name: start.name,
            attrs: start.attrs,
            line: start.line,
            ..Element::default()
        }
    }

    fn push_decoded(
        &mut self,
        decoded: Result<Cow<'_, str>, EncodingError>,
        line: u64,
    ) -> Result<(), XmlError> {
        let text = decoded.map_err(|e| at(line, format!("text that is not UTF-8: {e}")))?;
        self.push_text(&text);
        Ok(())
    }

    /// A character reference or an entity inside the text.
    fn push_reference(&mut self, r: &BytesRef<'_>, line: u64) -> Result<(), XmlError> {
        if let Some(c) = r
            .resolve_char_ref()
            .map_err(|e| at(line, format!("a broken character reference: {e}")))?
        {
            if is_xml_char(c) {
                self.text.push(c);
            }
        } else {
            let name = r
                .decode()
                .map_err(|e| at(line, format!("a broken entity: {e}")))?;
            match quick_xml::escape::resolve_predefined_entity(&name) {
                Some(text) => self.push_text(text),
                // An HTML entity such as &nbsp; (not XML, but common in exports):
                // kept as written, so the page shows it as the author meant.
                None => {
                    self.text.push('&');
                    self.push_text(&name);
                    self.text.push(';');
                }
            }
        }
        Ok(())
    }
}

/// The start of an element at the level being walked.
#[derive(Debug, Clone)]
pub struct Start {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub line: u64,
    empty: bool,
}

impl Start {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }
}

/// What went wrong while reading, and where.
#[derive(Debug, Clone)]
pub struct XmlError {
    pub line: u64,
    pub message: String,
    /// The file ended before the document did.
    pub truncated: bool,
}

pub struct XmlStream<R: BufRead> {
    reader: NsReader<Counting<R>>,
    buf: Vec<u8>,
}

impl<R: BufRead> XmlStream<R> {
    pub fn new(input: R, bytes_read: Arc<AtomicU64>) -> Self {
        let mut reader = NsReader::from_reader(Counting {
            inner: input,
            lines: 0,
            bytes: bytes_read,
            in_event: 0,
            over: false,
        });
        let config = reader.config_mut();
        config.expand_empty_elements = false;
        config.check_end_names = true;
        Self {
            reader,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// The line the parser has reached (1-based).
    pub fn line(&self) -> u64 {
        self.reader.get_ref().lines + 1
    }

    fn error(&self, message: impl Into<String>) -> XmlError {
        at(self.line(), message)
    }

    fn truncated(&self) -> XmlError {
        XmlError {
            line: self.line(),
            message: "the file ends in the middle of the document".into(),
            truncated: true,
        }
    }

    /// The next element that starts at the current level, or `None` when the element that
    /// holds this level ends (or, at the top, when the document does). Text and comments
    /// between elements are passed over.
    pub fn next_start(&mut self, at_top: bool) -> Result<Option<Start>, XmlError> {
        loop {
            self.buf.clear();
            self.reader.get_mut().next_event();
            let line = self.line();
            let (ns, event) = match self.reader.read_resolved_event_into(&mut self.buf) {
                Ok(pair) => pair,
                Err(e) => return Err(self.syntax_error(&e)),
            };
            let ns = namespace(&ns);
            match event {
                Event::Start(start) => return Ok(Some(Self::start(ns, &start, line, false)?)),
                Event::Empty(start) => return Ok(Some(Self::start(ns, &start, line, true)?)),
                Event::End(_) => return Ok(None),
                Event::Eof if at_top => return Ok(None),
                Event::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
    }

    fn start(
        ns: String,
        start: &BytesStart<'_>,
        line: u64,
        empty: bool,
    ) -> Result<Start, XmlError> {
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| at(line, format!("a broken attribute: {e}")))?;
            let value = attr
                .unescape_value()
                .map_err(|e| at(line, format!("a broken attribute value: {e}")))?;
            // Attribute values are cleaned like text: nothing imported can break a feed.
            attrs.push((
                String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned(),
                crate::domain::text::clean(&value),
            ));
        }
        Ok(Start {
            ns,
            name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
            attrs,
            line,
            empty,
        })
    }

    /// Passes over the rest of an element whose start was just read.
    pub fn skip(&mut self, start: &Start) -> Result<(), XmlError> {
        if start.empty {
            return Ok(());
        }
        let mut depth = 0usize;
        loop {
            self.buf.clear();
            self.reader.get_mut().next_event();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Start(_)) => depth += 1,
                Ok(Event::End(_)) if depth == 0 => return Ok(()),
                Ok(Event::End(_)) => depth -= 1,
                Ok(Event::Eof) => return Err(self.truncated()),
                Ok(_) => {}
                Err(e) => return Err(self.syntax_error(&e)),
            }
        }
    }

    /// Reads the rest of an element whose start was just read, with everything inside it.
    pub fn element(&mut self, start: Start) -> Result<Element, XmlError> {
        let empty = start.empty;
        let root = Element::opened(start);
        if empty {
            return Ok(root);
        }
        let mut stack = vec![root];
        let mut size = 0usize;
        loop {
            self.buf.clear();
            self.reader.get_mut().next_event();
            let line = self.line();
            let (ns, event) = match self.reader.read_resolved_event_into(&mut self.buf) {
                Ok(pair) => pair,
                Err(e) => return Err(self.syntax_error(&e)),
            };
            let ns = namespace(&ns);
            size += event_cost(&event);
            check_entry_bounds(&event, stack.len(), size, line)?;
            let top = stack
                .last_mut()
                .expect("the element being read is on the stack");
            match event {
                Event::Start(s) => stack.push(Element::opened(Self::start(ns, &s, line, false)?)),
                Event::Empty(s) => top
                    .children
                    .push(Element::opened(Self::start(ns, &s, line, true)?)),
                Event::End(_) => {
                    let done = stack.pop().expect("an end matches a start");
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Text(t) => top.push_decoded(t.decode(), line)?,
                Event::CData(t) => top.push_decoded(t.decode(), line)?,
                Event::GeneralRef(r) => top.push_reference(&r, line)?,
                Event::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
    }

    fn syntax_error(&self, error: &quick_xml::Error) -> XmlError {
        if self.reader.get_ref().over {
            return self.error(format!(
                "an entry is larger than {} MB, the most one entry may hold",
                MAX_ELEMENT_BYTES / 1024 / 1024
            ));
        }
        let text = error.to_string();
        if text.contains("end of file") || text.contains("end of input") || text.contains("EOF") {
            return self.truncated();
        }
        self.error(format!("the XML is broken: {text}"))
    }
}

pub use crate::domain::text::is_xml_char;

fn at(line: u64, message: impl Into<String>) -> XmlError {
    XmlError {
        line,
        message: message.into(),
        truncated: false,
    }
}

/// What an event costs against the entry's size cap: its bytes, plus a fixed amount for each
/// element and attribute it opens.
fn event_cost(event: &Event<'_>) -> usize {
    let mut cost = event.len();
    if let Event::Start(s) | Event::Empty(s) = event {
        cost += ELEMENT_COST * (1 + s.attributes().count());
    }
    cost
}

/// Refuses an entry that nests too deep or has grown past the size cap, once `event` is read.
fn check_entry_bounds(
    event: &Event<'_>,
    depth: usize,
    size: usize,
    line: u64,
) -> Result<(), XmlError> {
    if matches!(event, Event::Start(_)) && depth >= MAX_DEPTH {
        return Err(at(
            line,
            format!("elements nest more than {MAX_DEPTH} deep inside one entry"),
        ));
    }
    if size > MAX_ELEMENT_BYTES {
        return Err(at(
            line,
            format!(
                "one element is larger than {} MB",
                MAX_ELEMENT_BYTES / 1024 / 1024
            ),
        ));
    }
    Ok(())
}

fn namespace(resolved: &ResolveResult<'_>) -> String {
    match resolved {
        ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
        _ => String::new(),
    }
}
