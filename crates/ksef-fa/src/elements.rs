//! A flat index of a document's elements (name, parent, siblings, text of text-only elements, position),
//! recorded as the validator streams through the document: what finding paths and the rules need, at the cost
//! of one small record per element, where a DOM keeps every node, attribute and namespace scope.

use std::borrow::Cow;

/// No element.
const NONE: u32 = u32::MAX;

/// The elements of one document, in document order.
#[derive(Debug, Default)]
pub(crate) struct Elements<'a> {
    items: Vec<Item<'a>>,
}

#[derive(Debug)]
struct Item<'a> {
    local: &'a str,
    namespace: Option<&'a str>,
    parent: u32,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    /// Past its last descendant.
    end: u32,
    position: usize,
    text: Option<Cow<'a, str>>,
}

impl<'a> Elements<'a> {
    /// Room for `n` elements.
    pub(crate) fn with_capacity(n: usize) -> Elements<'a> {
        Elements { items: Vec::with_capacity(n) }
    }

    /// Records an element starting at byte `position`, a child of `parent` (`None`: the root); its number.
    pub(crate) fn open(&mut self, local: &'a str, namespace: Option<&'a str>, position: usize, parent: Option<u32>) -> u32 {
        let index = u32::try_from(self.items.len()).expect("documents are bounded far below 2^32 nodes");
        let parent = parent.unwrap_or(NONE);
        self.items.push(Item { local, namespace, parent, first_child: NONE, last_child: NONE, next_sibling: NONE, end: NONE, position, text: None });
        if let Some(p) = self.items.get_mut(parent as usize) {
            let previous = std::mem::replace(&mut p.last_child, index);
            if previous == NONE {
                p.first_child = index;
            } else {
                self.items[previous as usize].next_sibling = index;
            }
        }
        index
    }

    /// Records the end of element `index`, with its text if it is a text-only element.
    pub(crate) fn close(&mut self, index: u32, text: Option<Cow<'a, str>>) {
        let end = u32::try_from(self.items.len()).unwrap_or(NONE);
        let item = &mut self.items[index as usize];
        item.end = end;
        item.text = text;
    }

    /// The root element.
    pub(crate) fn root(&self) -> Option<Node<'_, 'a>> {
        (!self.items.is_empty()).then_some(Node { all: self, index: 0 })
    }

    /// Element number `index`.
    pub(crate) fn node(&self, index: u32) -> Node<'_, 'a> {
        Node { all: self, index }
    }
}

/// One element of [`Elements`].
#[derive(Clone, Copy)]
pub(crate) struct Node<'t, 'a> {
    all: &'t Elements<'a>,
    index: u32,
}

impl<'t, 'a> Node<'t, 'a> {
    fn item(&self) -> &'t Item<'a> {
        &self.all.items[self.index as usize]
    }

    /// Its number in document order.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// Its local name.
    pub(crate) fn name(&self) -> &'a str {
        self.item().local
    }

    /// Its namespace.
    pub(crate) fn namespace(&self) -> Option<&'a str> {
        self.item().namespace
    }

    /// The byte offset of its start tag.
    pub(crate) fn position(&self) -> usize {
        self.item().position
    }

    /// The text of a text-only element (`None` for others, and for an empty one).
    pub(crate) fn text(&self) -> Option<&'t str> {
        self.item().text.as_deref().filter(|t| !t.is_empty())
    }

    /// Its child elements.
    pub(crate) fn children(self) -> impl Iterator<Item = Node<'t, 'a>> + 't {
        let all = self.all;
        std::iter::successors(Some(self.item().first_child).filter(|c| *c != NONE), move |c| Some(all.items[*c as usize].next_sibling).filter(|n| *n != NONE))
            .map(move |index| Node { all, index })
    }

    /// It and every element inside it, in document order.
    pub(crate) fn descendants(self) -> impl Iterator<Item = Node<'t, 'a>> + 't {
        let all = self.all;
        let end = self.item().end.min(u32::try_from(all.items.len()).unwrap_or(NONE));
        (self.index..end).map(move |index| Node { all, index })
    }

    /// `/Faktura/Fa/FaWiersz[2]/P_12`: its path, with an index where a name repeats among siblings.
    pub(crate) fn path(&self) -> String {
        // Written into one string from the root down: the ancestors first, then each step.
        let mut chain = Vec::with_capacity(8);
        let mut at = self.index;
        while at != NONE {
            chain.push(at);
            at = self.all.items[at as usize].parent;
        }
        let mut path = String::with_capacity(chain.iter().map(|&i| self.all.items[i as usize].local.len() + 4).sum());
        for &at in chain.iter().rev() {
            let node = Node { all: self.all, index: at };
            let name = node.name();
            let parent = node.item().parent;
            let (mut before, mut total) = (0, 0);
            if parent != NONE {
                for sibling in (Node { all: self.all, index: parent }).children().filter(|s| s.name() == name) {
                    total += 1;
                    if sibling.index < at {
                        before += 1;
                    }
                }
            }
            path.push('/');
            path.push_str(name);
            if total > 1 {
                use std::fmt::Write as _;
                let _ = write!(path, "[{}]", before + 1);
            }
        }
        path
    }
}
