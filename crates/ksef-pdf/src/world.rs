//! The typst world a PDF is laid out in: the standard library, the fonts and the parsed template are made once
//! per process and shared by every render; a render brings only its view (JSON) and XML, as two files the
//! template reads. The library holds no per-document data, so its hash is computed once and typst's memoized
//! work (layouts of recurring text, font conversion and glyph boxes in the PDF export) can carry over from one
//! render to the next; [`evict`] keeps that cache small.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The template, and the paths it reads the document's data from (`json("/view.json")`,
/// `read("/document.xml")`).
const TEMPLATE: &str = include_str!("invoice.typ");
const TEMPLATE_PATH: &str = "/invoice.typ";
const VIEW_PATH: &str = "/view.json";
const XML_PATH: &str = "/document.xml";

/// Renders of small documents whose memoized results an unused entry outlives: what the previous render laid
/// out (the header, labels, the fonts' glyph boxes) is mostly what the next one needs.
const KEEP_RENDERS: usize = 1;

/// A document of more pages than this has its memoized results dropped as soon as it is done: it would hold
/// memory for little gain (layout memory grows with the document).
const KEEP_PAGES: usize = 4;

/// What every render shares, made on first use.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    view: FileId,
    xml: FileId,
}

fn id(path: &str) -> FileId {
    RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).expect("a valid virtual path")).intern()
}

fn shared() -> &'static Shared {
    static SHARED: LazyLock<Shared> = LazyLock::new(|| {
        // The font data is static: typst borrows it rather than copying 2 MB per process.
        let fonts: Vec<Font> = crate::FONTS.iter().flat_map(|data| Font::iter(Bytes::new(*data))).collect();
        Shared {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            template: Source::new(id(TEMPLATE_PATH), TEMPLATE.to_owned()),
            view: id(VIEW_PATH),
            xml: id(XML_PATH),
        }
    });
    &SHARED
}

/// One render's world: the shared parts, and this document's view and XML.
pub(crate) struct InvoiceWorld {
    shared: &'static Shared,
    view: Bytes,
    xml: Bytes,
}

impl InvoiceWorld {
    /// `view` is the view as JSON (what `view_json` makes), `xml` the document's exact bytes.
    pub(crate) fn new(view: Vec<u8>, xml: Vec<u8>) -> InvoiceWorld {
        InvoiceWorld { shared: shared(), view: Bytes::new(view), xml: Bytes::new(xml) }
    }
}

impl World for InvoiceWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.shared.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.shared.book
    }

    fn main(&self) -> FileId {
        self.shared.template.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.shared.template.id() { Ok(self.shared.template.clone()) } else { Err(not_found(id)) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.shared.view {
            Ok(self.view.clone())
        } else if id == self.shared.xml {
            Ok(self.xml.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.shared.fonts.get(index).cloned()
    }

    fn today(&self, _: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // The template dates the document from the invoice; the clock would make every render differ.
        None
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_without_slash().into())
}

/// Trims typst's memo cache after a render of `pages` pages (`usize::MAX` for one that failed): a small
/// document's results are kept for the next render, a large one's dropped at once, so the cache never holds
/// more than about one small document's layout between renders.
pub(crate) fn evict(pages: usize) {
    typst::comemo::evict(if pages <= KEEP_PAGES { KEEP_RENDERS } else { 0 });
}
