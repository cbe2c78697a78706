//! A bounded reader of Kubernetes manifests: a YAML stream (documents
//! separated by `---`) into small trees that keep each node's line, for
//! `mtls lint --ingress`.
//!
//! Hostile input cannot make it panic or grow without bound: the file is
//! read up to [`MAX_FILE_SIZE`](crate::nginx::MAX_FILE_SIZE), the nodes of
//! all documents (alias expansions counted as the copies they are) up to
//! [`MAX_NODES`], nesting up to [`MAX_DEPTH`], documents up to
//! [`MAX_DOCUMENTS`].

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::{Event, Parser, Span};

/// The most nodes over all documents, aliases expanded.
pub(crate) const MAX_NODES: usize = 1 << 20;
/// The deepest nesting of mappings and sequences.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most documents in one file.
pub(crate) const MAX_DOCUMENTS: usize = 10_000;

/// A YAML node with the (1-based) line where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) line: usize,
    pub(crate) value: Value,
}

/// What a node holds. Scalars stay text (Kubernetes reads annotations as
/// strings either way).
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Scalar(String),
    Mapping(Vec<(Node, Node)>),
    Sequence(Vec<Node>),
}

impl Node {
    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The key node and the value of `key` in a mapping, also from its
    /// merge keys (`<<: *base`, which Kubernetes' YAML reader applies).
    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries()
            .into_iter()
            .find(|(k, _)| k.as_str() == Some(key))
    }

    /// The text of a scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text) => Some(text),
            _ => None,
        }
    }

    /// The items of a sequence (none for anything else).
    pub(crate) fn items(&self) -> &[Node] {
        match &self.value {
            Value::Sequence(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping (none for anything else): its own, then
    /// those of its merge keys (`<<: *base` or `<<: [*a, *b]`) that it does
    /// not set itself, as YAML 1.1 merges them.
    pub(crate) fn entries(&self) -> Vec<(&Node, &Node)> {
        let Value::Mapping(entries) = &self.value else {
            return Vec::new();
        };
        let is_merge = |k: &Node| k.as_str() == Some("<<");
        let mut all: Vec<(&Node, &Node)> = entries
            .iter()
            .filter(|(k, _)| !is_merge(k))
            .map(|(k, v)| (k, v))
            .collect();
        for (_, merged) in entries.iter().filter(|(k, _)| is_merge(k)) {
            let sources = match &merged.value {
                Value::Sequence(items) => items.iter().collect(),
                _ => vec![merged],
            };
            for source in sources {
                // The tree is at most MAX_DEPTH deep, so is this recursion.
                for (k, v) in source.entries() {
                    if !all.iter().any(|(seen, _)| seen.as_str() == k.as_str()) {
                        all.push((k, v));
                    }
                }
            }
        }
        all
    }
}

/// One document of the stream: its 1-based index and root (`None` for an
/// empty document).
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) index: usize,
    pub(crate) root: Option<Node>,
}

/// Reads and parses `path`.
pub(crate) fn load(path: &Path) -> Result<Vec<Document>, String> {
    let bytes = crate::nginx::read_bounded(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    parse(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// A collection being built.
enum Open {
    Mapping(usize, Vec<(Node, Node)>, Option<Node>),
    Sequence(usize, Vec<Node>),
}

/// Parses a YAML stream into its documents.
pub(crate) fn parse(text: &str) -> Result<Vec<Document>, String> {
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    let mut stack: Vec<(Open, usize)> = Vec::new();
    // Anchored nodes with their sizes and heights, for aliases.
    let mut anchors: HashMap<usize, (Node, Measure)> = HashMap::new();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    let at = |span: &Span, what: &str| format!("line {}: {what}", span.start.line());
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|error| format!("not valid YAML: {error}"))?;
        let line = span.start.line();
        // (a finished node, its anchor, the nodes it adds)
        let done: Option<(Node, usize, usize)> = match event {
            Event::DocumentStart(_) => {
                if documents.len() >= MAX_DOCUMENTS {
                    return Err(at(&span, &format!("more than {MAX_DOCUMENTS} documents")));
                }
                anchors.clear();
                root = None;
                None
            }
            Event::DocumentEnd => {
                documents.push(Document {
                    index: documents.len() + 1,
                    root: root.take(),
                });
                None
            }
            Event::Scalar(text, _, anchor, _) => Some((
                Node {
                    line,
                    value: Value::Scalar(text.into_owned()),
                },
                anchor,
                1,
            )),
            Event::Alias(id) => {
                let (node, measure) = anchors
                    .get(&id)
                    .ok_or_else(|| at(&span, "alias to an unknown anchor"))?;
                // The copy counts as many nodes as the original: a "billion
                // laughs" stops here instead of filling memory.
                if nodes.saturating_add(measure.size) > MAX_NODES {
                    return Err(at(
                        &span,
                        &format!("more than {MAX_NODES} nodes (with aliases expanded)"),
                    ));
                }
                // Chained aliases must not build a tree deeper than the
                // parser lets a document be.
                if stack.len() + measure.height > MAX_DEPTH {
                    return Err(at(
                        &span,
                        &format!("nested deeper than {MAX_DEPTH} (with aliases expanded)"),
                    ));
                }
                Some((node.clone(), 0, measure.size))
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(&span, &format!("nested deeper than {MAX_DEPTH}")));
                }
                let open = if matches!(event, Event::MappingStart(..)) {
                    Open::Mapping(line, Vec::new(), None)
                } else {
                    Open::Sequence(line, Vec::new())
                };
                stack.push((open, anchor));
                None
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some((open, anchor)) = stack.pop() else {
                    return Err(at(&span, "unbalanced collection"));
                };
                let node = match open {
                    Open::Mapping(line, entries, _) => Node {
                        line,
                        value: Value::Mapping(entries),
                    },
                    Open::Sequence(line, items) => Node {
                        line,
                        value: Value::Sequence(items),
                    },
                };
                // Its items were counted as they came.
                Some((node, anchor, 1))
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
        };
        let Some((node, anchor, added)) = done else {
            continue;
        };
        nodes = nodes.saturating_add(added);
        if nodes > MAX_NODES {
            return Err(at(&span, &format!("more than {MAX_NODES} nodes")));
        }
        if anchor > 0 {
            let measure = measure(&node);
            anchors.insert(anchor, (node.clone(), measure));
        }
        match stack.last_mut() {
            Some((Open::Sequence(_, items), _)) => items.push(node),
            Some((Open::Mapping(_, entries, key), _)) => match key.take() {
                Some(key) => entries.push((key, node)),
                None => *key = Some(node),
            },
            None => root = Some(node),
        }
    }
    Ok(documents)
}

/// The size of a subtree.
#[derive(Clone, Copy, Debug)]
struct Measure {
    /// Nodes, the root included.
    size: usize,
    /// Levels of nesting: 1 for a scalar.
    height: usize,
}

fn measure(node: &Node) -> Measure {
    let children: Vec<Measure> = match &node.value {
        Value::Scalar(_) => Vec::new(),
        Value::Mapping(entries) => entries
            .iter()
            .flat_map(|(k, v)| [measure(k), measure(v)])
            .collect(),
        Value::Sequence(items) => items.iter().map(measure).collect(),
    };
    Measure {
        size: 1 + children.iter().map(|m| m.size).sum::<usize>(),
        height: 1 + children.iter().map(|m| m.height).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lines_and_values() {
        let docs = parse("a: 1\n---\nkind: Ingress\nmetadata:\n  name: x\n---\n").expect("parse");
        assert_eq!(docs.len(), 3);
        let second = docs[1].root.as_ref().expect("root");
        assert_eq!(second.get("kind").and_then(Node::as_str), Some("Ingress"));
        let name = second
            .get("metadata")
            .and_then(|m| m.get("name"))
            .expect("name");
        assert_eq!((name.as_str(), name.line), (Some("x"), 5));
        // An empty document is a null scalar: no object.
        assert!(
            docs[2]
                .root
                .as_ref()
                .is_none_or(|r| r.get("kind").is_none())
        );
    }

    #[test]
    fn aliases_are_copied_and_counted() {
        let docs = parse("a: &x {b: c}\nd: *x\n").expect("parse");
        let root = docs[0].root.as_ref().expect("root");
        assert_eq!(
            root.get("d")
                .and_then(|d| d.get("b"))
                .and_then(Node::as_str),
            Some("c")
        );
        // Ten levels of ten aliases each: 10^10 nodes if expanded.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = format!("*a{}", level - 1);
            let items = [prev.as_str(); 10].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = parse(&bomb).expect_err("bomb");
        assert!(error.contains("aliases expanded"), "{error}");
    }

    #[test]
    fn merge_keys_are_applied_without_overriding() {
        let text = "base: &b {name: web, namespace: prod}\nobj:\n  <<: *b\n  name: api\n";
        let docs = parse(text).expect("parse");
        let obj = docs[0]
            .root
            .as_ref()
            .and_then(|r| r.get("obj"))
            .expect("obj");
        assert_eq!(obj.get("name").and_then(Node::as_str), Some("api"));
        assert_eq!(obj.get("namespace").and_then(Node::as_str), Some("prod"));
        assert_eq!(obj.entries().len(), 2);
    }

    #[test]
    fn chained_aliases_cannot_nest_deeper_than_the_limit() {
        let mut chain = String::from("a0: &a0 [x]\n");
        for level in 1..100 {
            chain.push_str(&format!("a{level}: &a{level} [*a{}]\n", level - 1));
        }
        let error = parse(&chain).expect_err("too deep");
        assert!(error.contains("nested deeper than 64"), "{error}");
    }

    #[test]
    fn deep_nesting_and_bad_yaml_are_errors() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        let error = parse("a: [1, 2\nb: }").expect_err("malformed");
        assert!(error.starts_with("not valid YAML"), "{error}");
    }
}
