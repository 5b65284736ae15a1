//! A tiny XML tree written directly in canonical form (W3C Exclusive XML Canonicalization 1.0,
//! without comments), so the bytes Segl signs are exactly the bytes it publishes.
//!
//! What makes the output canonical: no XML declaration inside the signed bytes, start/end tag
//! pairs for empty elements, namespace declarations before attributes and each sorted (C14N
//! 1.0 §2.2 "Document Order"; attributes by namespace URI then local name), double-quoted
//! attributes, and the C14N escaping of text and attribute values. Exclusiveness is the
//! caller's part: every element declares exactly the prefixes it visibly utilises that its
//! nearest output ancestor does not already declare (Exc-C14N §3), so any signed subtree
//! (`ds:SignedInfo`, `xades:SignedProperties`) canonicalises to its own serialisation.

use crate::TrustListError;

/// The XML namespace, bound to the `xml` prefix by definition.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// An element with explicit namespace declarations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    name: String,
    namespaces: Vec<(String, String)>,
    attributes: Vec<(String, String)>,
    pub(crate) children: Vec<Node>,
}

/// A child node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub(crate) fn new(name: &str) -> Self {
        Self { name: name.to_owned(), namespaces: Vec::new(), attributes: Vec::new(), children: Vec::new() }
    }

    /// Declares `prefix` ("" for the default namespace) on this element.
    pub(crate) fn ns(mut self, prefix: &str, uri: &str) -> Self {
        self.namespaces.push((prefix.to_owned(), uri.to_owned()));
        self
    }

    pub(crate) fn attr(mut self, name: &str, value: &str) -> Self {
        self.attributes.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    pub(crate) fn children(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children.extend(children.into_iter().map(Node::Element));
        self
    }

    pub(crate) fn text(mut self, text: &str) -> Self {
        self.children.push(Node::Text(text.to_owned()));
        self
    }

    /// `<name xml:lang="lang">text</name>`.
    pub(crate) fn lang_text(name: &str, lang: &str, text: &str) -> Self {
        Self::new(name).attr("xml:lang", lang).text(text)
    }

    /// Adds newline-and-indent text nodes between element-only children, for readability.
    /// Whitespace text nodes are content like any other: call this before signing.
    pub(crate) fn indent(&mut self, depth: usize) {
        let element_only =
            !self.children.is_empty() && self.children.iter().all(|c| matches!(c, Node::Element(_)));
        for child in &mut self.children {
            if let Node::Element(element) = child {
                element.indent(depth + 1);
            }
        }
        if element_only {
            let inner = format!("\n{}", "  ".repeat(depth + 1));
            let outer = format!("\n{}", "  ".repeat(depth));
            let children = std::mem::take(&mut self.children);
            for child in children {
                self.children.push(Node::Text(inner.clone()));
                self.children.push(child);
            }
            self.children.push(Node::Text(outer));
        }
    }

    /// The canonical serialisation.
    pub(crate) fn to_canonical(&self) -> Result<String, TrustListError> {
        let mut out = String::new();
        self.write(&mut out)?;
        Ok(out)
    }

    fn write(&self, out: &mut String) -> Result<(), TrustListError> {
        out.push('<');
        out.push_str(&self.name);
        let mut namespaces: Vec<&(String, String)> = self.namespaces.iter().collect();
        namespaces.sort_by(|a, b| a.0.cmp(&b.0));
        for (prefix, uri) in namespaces {
            if prefix.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(prefix);
                out.push_str("=\"");
            }
            escape_attribute(uri, out)?;
            out.push('"');
        }
        let mut attributes: Vec<&(String, String)> = self.attributes.iter().collect();
        attributes.sort_by(|a, b| attribute_key(&a.0).cmp(&attribute_key(&b.0)));
        for (name, value) in attributes {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_attribute(value, out)?;
            out.push('"');
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(element) => element.write(out)?,
                Node::Text(text) => escape_text(text, out)?,
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
        Ok(())
    }
}

/// C14N orders attributes by namespace URI (none sorts first), then local name. Segl uses only
/// unprefixed attributes and `xml:` ones.
fn attribute_key(name: &str) -> (&str, &str) {
    match name.strip_prefix("xml:") {
        Some(local) => (XML_NS, local),
        None => ("", name),
    }
}

/// XML 1.0 §2.2 Char: refuse what no XML document may contain.
fn check_char(c: char) -> Result<(), TrustListError> {
    let allowed = matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'));
    if allowed {
        Ok(())
    } else {
        Err(TrustListError::Xml(format!("character U+{:04X} is not allowed in XML", u32::from(c))))
    }
}

/// C14N 1.0 §2.3 text nodes: `&`, `<`, `>` and CR escaped.
fn escape_text(text: &str, out: &mut String) -> Result<(), TrustListError> {
    for c in text.chars() {
        check_char(c)?;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    Ok(())
}

/// C14N 1.0 §2.3 attribute values: `&`, `<`, `"`, TAB, LF and CR escaped.
fn escape_attribute(text: &str, out: &mut String) -> Result<(), TrustListError> {
    for c in text.chars() {
        check_char(c)?;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_canonical_order_and_escaping() {
        let element = Element::new("a")
            .attr("xml:lang", "en")
            .attr("Z", "q\"<&\n")
            .attr("B", "1")
            .ns("x", "urn:x")
            .ns("", "urn:d")
            .text("1 < 2 & 3 > 2\r")
            .child(Element::new("b"));
        assert_eq!(
            element.to_canonical().unwrap(),
            "<a xmlns=\"urn:d\" xmlns:x=\"urn:x\" B=\"1\" Z=\"q&quot;&lt;&amp;&#xA;\" xml:lang=\"en\">\
             1 &lt; 2 &amp; 3 &gt; 2&#xD;<b></b></a>"
        );
    }

    #[test]
    fn rejects_control_characters() {
        assert!(Element::new("a").text("bell\u{7}").to_canonical().is_err());
    }
}
