//! Fixed string tables for the validator's lookups at every element: element numbers by name, and
//! enumerations. A probe hashes and compares a string in two word loads; a general hash map or a binary search
//! spent a sixth of the schema pass hashing and comparing strings through `memcmp`.

/// Element numbers by local name and namespace, for the fixed set of names one schema declares.
#[derive(Debug, Default)]
pub(crate) struct ElementIds {
    locals: Strings,
    /// By local name's number: the namespace number and element number of its first declaration (most names
    /// have one), kept flat so a lookup reads no further allocation.
    first: Vec<(u32, u32)>,
    /// The other namespaces a name is declared in: local name's number, namespace number, element number.
    more: Vec<(u32, u32, u32)>,
    /// The namespaces of declared elements (`None`: unqualified), numbered by position.
    namespaces: Vec<Option<String>>,
}

impl ElementIds {
    /// The table of `names`: local name, namespace and element number, each pair once.
    pub(crate) fn new<'n>(names: impl IntoIterator<Item = (&'n str, Option<&'n str>, u32)>) -> ElementIds {
        let names: Vec<_> = names.into_iter().collect();
        let locals = Strings::new(names.iter().map(|(local, _, _)| *local));
        let mut table = ElementIds { first: Vec::with_capacity(locals.len()), more: Vec::new(), locals, namespaces: Vec::new() };
        for (local, namespace, id) in names {
            let ns = table.namespace(namespace).unwrap_or_else(|| {
                table.namespaces.push(namespace.map(str::to_owned));
                table.namespaces.len() as u32 - 1
            });
            let at = table.locals.find(local).expect("listed");
            // Names are numbered in the order first listed, so a name met for the first time is the next number.
            if at as usize == table.first.len() {
                table.first.push((ns, id));
            } else {
                table.more.push((at, ns, id));
            }
        }
        table
    }

    /// The number of `namespace` among the declared elements' namespaces (`None`: no element is declared in it).
    pub(crate) fn namespace(&self, namespace: Option<&str>) -> Option<u32> {
        self.namespaces.iter().position(|n| n.as_deref() == namespace).map(|at| at as u32)
    }

    /// How many slots a lookup of a declared name reads, on average.
    #[cfg(test)]
    pub(crate) fn mean_probes(&self) -> f64 {
        self.locals.mean_probes()
    }

    /// The element number of `local` in the namespace numbered `ns`, if one is declared.
    pub(crate) fn get(&self, local: &str, ns: u32) -> Option<u32> {
        let at = self.locals.find(local)?;
        match self.first[at as usize] {
            (first, id) if first == ns => Some(id),
            _ => self.more.iter().find(|(l, n, _)| *l == at && *n == ns).map(|(_, _, id)| *id),
        }
    }
}

/// A fixed set of strings, each numbered by its first place in the list it was made from: a table probed
/// from a hash of a string's first and last eight bytes, most strings compared in two word comparisons.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Strings {
    /// Index into `entries` plus one (0: empty); a power of two, at most half full, so a probe ends soon.
    slots: Box<[u32]>,
    entries: Vec<(Key, Box<str>)>,
}

impl Strings {
    pub(crate) fn new<'s>(strings: impl IntoIterator<Item = &'s str>) -> Strings {
        let mut table = Strings::default();
        let strings: Vec<&str> = strings.into_iter().collect();
        table.slots = vec![0u32; (strings.len() * 2).next_power_of_two().max(8)].into_boxed_slice();
        for string in strings {
            let key = Key::of(string.as_bytes());
            let slot = table.slot(key, string);
            if table.slots[slot] == 0 {
                table.entries.push((key, string.into()));
                table.slots[slot] = table.entries.len() as u32;
            }
        }
        table
    }

    /// How many distinct strings the set holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The number of `string` (from 0, in the order first listed), if the set holds it.
    pub(crate) fn find(&self, string: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots[self.slot(Key::of(string.as_bytes()), string)].checked_sub(1)
    }

    /// How many slots a lookup of a string of the set reads, on average: 1 when no two strings' hashes collide.
    #[cfg(test)]
    fn mean_probes(&self) -> f64 {
        let mask = self.slots.len() - 1;
        let probes: usize = self.entries.iter().map(|(key, string)| (self.slot(*key, string).wrapping_sub(key.hash() as usize) & mask) + 1).sum();
        probes as f64 / self.entries.len().max(1) as f64
    }

    /// The slot holding `string` (`key` its key), or the empty one where it would go.
    fn slot(&self, key: Key, string: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = key.hash() as usize & mask;
        // The table is at most half full, so an empty slot ends every probe.
        loop {
            match self.slots[slot] {
                0 => return slot,
                at => {
                    let (theirs, stored) = &self.entries[at as usize - 1];
                    if *theirs == key && (key.len <= 16 || **stored == *string) {
                        return slot;
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// A string's first and last eight bytes (overlapping, or fewer for a shorter one) and its length. Equal keys
/// are equal strings up to sixteen bytes, which nearly every element name and enumerated value is; a longer
/// string is compared in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    head: u64,
    tail: u64,
    len: usize,
}

impl Key {
    fn of(bytes: &[u8]) -> Key {
        let n = bytes.len();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
        let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes")));
        let (head, tail) = match n {
            8.. => (word(0), word(n - 8)),
            4.. => (half(0), half(n - 4)),
            1.. => (u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8, u64::from(bytes[n - 1])),
            0 => (0, 0),
        };
        Key { head, tail, len: n }
    }

    fn hash(self) -> u64 {
        // The two halves multiplied together into 128 bits, folded: every input bit reaches the low bits the table
        // is indexed by. (A 64-bit product of the halves xored together kept the names' shared structure in its
        // low bits: the FA(3) names took five probes a lookup.)
        let product = u128::from(self.head ^ 0xf135_7aea_2e62_a9c5) * u128::from(self.tail ^ self.len as u64 ^ 0x9e37_79b9_7f4a_7c15);
        (product >> 64) as u64 ^ product as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_every_length_are_found_and_near_misses_are_not() {
        let names: Vec<String> = (0..40).map(|n| "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"[..n].to_owned()).collect();
        let table = ElementIds::new(names.iter().enumerate().map(|(i, n)| (n.as_str(), Some("urn:a"), i as u32)));
        let ns = table.namespace(Some("urn:a")).unwrap();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name, ns), Some(i as u32), "{name:?}");
            // One byte changed anywhere: another name, unless it is one of ours.
            for at in 0..name.len() {
                let mut other = name.clone().into_bytes();
                other[at] = b'_';
                assert_eq!(table.get(std::str::from_utf8(&other).unwrap(), ns), None, "{name:?} changed at {at}");
            }
        }
        assert_eq!(table.namespace(Some("urn:b")), None);
        assert_eq!(table.namespace(None), None);
    }

    #[test]
    fn strings_are_numbered_in_the_order_first_listed() {
        let set = Strings::new(["PL", "DE", "PL", "", "a much longer value than sixteen bytes"]);
        assert_eq!(set.len(), 4);
        assert_eq!(["PL", "DE", "", "a much longer value than sixteen bytes"].map(|s| set.find(s)), [Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!(["pl", "P", "a much longer value than sixteen bytez", "a much longer value that sixteen bytes"].map(|s| set.find(s)), [None; 4]);
        assert_eq!(Strings::new([]).find(""), None);
    }

    #[test]
    fn a_name_declared_in_two_namespaces_has_a_number_in_each() {
        let table = ElementIds::new([("Nazwa", Some("urn:a"), 1), ("Nazwa", None, 2), ("Kod", None, 3)]);
        let (a, none) = (table.namespace(Some("urn:a")).unwrap(), table.namespace(None).unwrap());
        assert_eq!((table.get("Nazwa", a), table.get("Nazwa", none)), (Some(1), Some(2)));
        assert_eq!((table.get("Kod", a), table.get("Kod", none)), (None, Some(3)));
    }
}
