//! The layout keeps its design: dependencies between Folio's folders point one way, with no
//! circle, and no module imports one of its siblings that imports it back (ARCHITECTURE.md).
//! Read from the source's `crate::`, `super::` and `self::` paths, in `use` trees and inline.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// A module's path from the crate root: `["http", "admin", "auth"]`.
type Module = Vec<String>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code without comments, string and char literals (a path in a doc comment or a message
/// is no dependency), and without `#[cfg(test)]` modules (tests may reach anywhere).
fn code_only(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let open = rest.find('"').unwrap();
            let hashes = &rest[1..open];
            let close = format!("\"{hashes}");
            i += open
                + 1
                + rest[open + 1..]
                    .find(&close)
                    .map_or(rest.len(), |e| e + close.len());
            out.push_str("\"\"");
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            out.push_str("\"\"");
        } else if bytes[i] == b'\''
            && rest.len() > 2
            && (rest.as_bytes()[2] == b'\'' || rest.as_bytes()[1] == b'\\')
        {
            // A char literal ('a', '\n'); a lifetime has no closing quote.
            let end = rest[1..].find('\'').map_or(1, |e| e + 2);
            i += end;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Every path a file names that starts at `crate`, `super` or `self`, as written: `use` trees
/// are expanded (`use crate::{db, http::cache}` names `crate::db` and `crate::http::cache`).
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let tokens = tokenize(code);
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "use" {
            let end = (i..tokens.len())
                .find(|&j| tokens[j] == ";")
                .unwrap_or(tokens.len());
            use_tree(&tokens[i + 1..end], &[], &mut paths);
            i = end;
        } else if matches!(tokens[i].as_str(), "crate" | "super" | "self")
            && tokens.get(i + 1).is_some_and(|t| t == "::")
        {
            let mut path = vec![tokens[i].clone()];
            let mut j = i + 1;
            while tokens.get(j).is_some_and(|t| t == "::")
                && tokens.get(j + 1).is_some_and(|t| is_ident(t))
            {
                path.push(tokens[j + 1].clone());
                j += 2;
            }
            paths.push(path);
            i = j;
        } else {
            i += 1;
        }
    }
    paths
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut end = at + c.len_utf8();
            while let Some(&(next_at, next)) = chars.peek() {
                if next.is_alphanumeric() || next == '_' {
                    end = next_at + next.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(code[at..end].to_owned());
        } else if c == ':' && chars.peek().is_some_and(|&(_, n)| n == ':') {
            chars.next();
            tokens.push("::".to_owned());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// Expands one `use` tree (without `use` and `;`) under `prefix`.
fn use_tree(tokens: &[String], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "::" => i += 1,
            "{" => {
                // The subtrees up to the matching brace, split at top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                for j in i..tokens.len() {
                    match tokens[j].as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                use_tree(&tokens[start..j], &path, out);
                                return;
                            }
                        }
                        "," if depth == 1 => {
                            use_tree(&tokens[start..j], &path, out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            "as" | "*" => break,
            "self" if !path.is_empty() => i += 1,
            token if is_ident(token) => {
                path.push(token.to_owned());
                i += 1;
            }
            _ => i += 1,
        }
    }
    if path.len() > 1 && matches!(path[0].as_str(), "crate" | "super" | "self") {
        out.push(path);
    }
}

/// The module a path names: the longest known module it starts with.
fn resolve(from: &Module, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut absolute: Module = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("self") => {
            absolute = from.clone();
            rest = &path[1..];
        }
        Some("super") => {
            absolute = from.clone();
            while rest.first().is_some_and(|p| p == "super") {
                absolute.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    absolute.extend(rest.iter().cloned());
    (0..=absolute.len())
        .rev()
        .map(|n| absolute[..n].to_vec())
        .find(|candidate| modules.contains(candidate))
}

/// Module → the modules it names.
fn module_graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let targets: BTreeSet<Module> = paths_in(&code)
            .iter()
            .filter_map(|path| resolve(&from, path, &modules))
            .filter(|to| *to != from)
            .collect();
        graph.insert(from, targets);
    }
    graph
}

/// The folder (or root file) a module belongs to: its first segment, "" for the crate root.
fn layer(module: &Module) -> &str {
    module.first().map_or("", String::as_str)
}

/// Cycles in a graph, each as one of its nodes' strongly connected component (Tarjan).
fn cycles<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        found: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(node: &N, graph: &BTreeMap<N, BTreeSet<N>>, s: &mut State<N>) {
        let n = s.index.len();
        s.index.insert(node.clone(), n);
        s.low.insert(node.clone(), n);
        s.stack.push(node.clone());
        s.on_stack.insert(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(next, graph, s);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node.clone(), low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node.clone(), low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(&top);
                let done = top == *node;
                component.push(top);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(node, graph, &mut state);
        }
    }
    state.found
}

/// The folders that may import only these others: rules are pure, SQL knows no pages.
const ONLY: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("db", &["domain"]),
    ("render", &["domain"]),
];

/// The services and layers below the web: none of them reaches up into `http` or `views`.
const BELOW_THE_WEB: &[&str] = &[
    "auth",
    "db",
    "domain",
    "export",
    "federation",
    "import",
    "mail",
    "media",
    "outbound",
    "page_cache",
    "render",
    "spam",
    "stats",
    "store",
    "webmention",
];

#[test]
fn dependencies_point_one_way_with_no_circle() {
    let graph = module_graph();
    // Between folders: the crate root (`lib`, `main`, the wiring files) may be named by anyone
    // only through its own small files, which are layers of their own here.
    let mut layers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &graph {
        let entry = layers.entry(layer(from).to_owned()).or_default();
        for to in targets {
            if layer(to) != layer(from) && !layer(to).is_empty() {
                entry.insert(layer(to).to_owned());
            }
        }
    }
    let mut problems = Vec::new();
    for cycle in cycles(&layers) {
        problems.push(format!("folders in a circle: {}", cycle.join(" ↔ ")));
    }
    for (from, allowed) in ONLY {
        for to in layers.get(*from).into_iter().flatten() {
            if !allowed.contains(&to.as_str()) {
                problems.push(format!("{from} may import only {allowed:?}, not {to}"));
            }
        }
    }
    for from in BELOW_THE_WEB {
        for to in layers.get(*from).into_iter().flatten() {
            if matches!(to.as_str(), "http" | "views" | "cli") {
                problems.push(format!("{from} is below the web and may not import {to}"));
            }
        }
    }
    // Every folder named here exists (a rename must not silently end a rule).
    for name in ONLY
        .iter()
        .map(|(n, _)| *n)
        .chain(BELOW_THE_WEB.iter().copied())
    {
        assert!(layers.contains_key(name), "no folder {name} in src/");
    }
    // Within a folder: siblings (and their descendants) never name each other in a circle. A
    // folder's `mod.rs` holds what its files share, and names them to wire them: edges to and
    // from a module's own ancestors are not counted.
    let mut siblings: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, targets) in &graph {
        let entry = siblings.entry(from.clone()).or_default();
        for to in targets {
            let ancestry = to.starts_with(from) || from.starts_with(to);
            if layer(to) == layer(from) && !ancestry {
                entry.insert(to.clone());
            }
        }
    }
    for cycle in cycles(&siblings) {
        let names: Vec<String> = cycle.iter().map(|m| m.join("/")).collect();
        problems.push(format!("modules in a circle: {}", names.join(" ↔ ")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_of_paths_understands_use_trees() {
    let code = code_only(
        "use crate::{db::{self, users}, http::cache as c, *};\n\
         // crate::not::this\n\
         fn f() { super::sibling::g(); let s = \"crate::nor::this\"; }",
    );
    let mut paths = paths_in(&code);
    paths.sort();
    assert_eq!(
        paths,
        [
            vec!["crate", "db"],
            vec!["crate", "db", "users"],
            vec!["crate", "http", "cache"],
            vec!["super", "sibling", "g"],
        ]
    );
}
