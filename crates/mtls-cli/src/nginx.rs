//! A reader of nginx configuration, with nginx's grammar
//! (`src/core/ngx_conf_file.c`): directives `name arg...;`, blocks
//! `name arg... { ... }`, `#` comments at the start of a token, single- and
//! double-quoted arguments with backslash escapes, `${var}` inside words, and
//! `include PATTERN;` spliced in place, with globs, relative to the
//! configuration prefix (the main file's directory, as `nginx -c FILE`).
//!
//! Bounded on any input: file size, number of files, include depth and block
//! nesting are capped, an include loop is an error, and nothing panics.

use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest configuration file read.
pub(crate) const MAX_FILE_SIZE: u64 = 4 << 20;
/// Most bytes read for one configuration, all files together.
pub(crate) const MAX_TOTAL_SIZE: u64 = 32 << 20;
/// Most directives in one configuration (a large `map` or `geo` has some
/// hundred thousand entries), which bounds the memory of the parsed tree.
pub(crate) const MAX_DIRECTIVES: usize = 1 << 20;
/// Most files read for one configuration (the main file and its includes).
pub(crate) const MAX_FILES: usize = 1024;
/// Deepest chain of includes.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;
/// Deepest nesting of blocks (across includes).
pub(crate) const MAX_BLOCK_DEPTH: usize = 64;

/// One directive: its name, its arguments (unquoted, escapes resolved), where
/// its name stands, and its block if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    /// Index into [`Config::files`].
    pub(crate) file: usize,
    /// 1-based line of the directive's name.
    pub(crate) line: usize,
    pub(crate) block: Option<Vec<Directive>>,
}

/// A parsed configuration with its includes spliced in.
#[derive(Debug)]
pub(crate) struct Config {
    /// The configuration prefix: relative paths in directives are relative
    /// to it (nginx's `conf_prefix`).
    pub(crate) prefix: PathBuf,
    /// Every file read, the main file first.
    pub(crate) files: Vec<PathBuf>,
    pub(crate) directives: Vec<Directive>,
}

impl Config {
    /// Reads `path` and every file it includes.
    pub(crate) fn load(path: &Path) -> Result<Self, ParseError> {
        let prefix = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut loader = Loader {
            prefix,
            files: Vec::new(),
            stack: Vec::new(),
            read: 0,
            directives: 0,
            follow_includes: true,
        };
        let directives = loader.file(path.to_path_buf(), 0, None)?;
        Ok(Self {
            prefix: loader.prefix,
            files: loader.files,
            directives,
        })
    }

    /// Parses `text` as the file `test.conf` (for tests).
    #[cfg(test)]
    fn parse_str(text: &str) -> Result<Vec<Directive>, ParseError> {
        Self::parse_bytes(text.as_bytes(), Path::new("."))
    }

    /// Parses `bytes` as the file `test.conf`, keeping `include`s as
    /// directives instead of reading files (for tests and the
    /// `nginx_config` fuzz target, which includes this file).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn parse_bytes(bytes: &[u8], prefix: &Path) -> Result<Vec<Directive>, ParseError> {
        let mut loader = Loader {
            prefix: prefix.to_path_buf(),
            files: vec![PathBuf::from("test.conf")],
            stack: Vec::new(),
            read: 0,
            directives: 0,
            follow_includes: false,
        };
        loader.parse(bytes, 0, 0)
    }

    /// `path` as nginx resolves a file argument: relative to the prefix.
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        self.prefix.join(path)
    }
}

/// Why a configuration cannot be read, with the place.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) file: PathBuf,
    /// 0 when the problem is with the file as a whole.
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

struct Loader {
    prefix: PathBuf,
    files: Vec<PathBuf>,
    /// The files being read, outermost first (for include loops).
    stack: Vec<PathBuf>,
    /// Bytes read so far.
    read: u64,
    /// Directives parsed so far.
    directives: usize,
    /// Whether `include` reads files (not when parsing text alone).
    follow_includes: bool,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// The next token and the line it starts on, `None` at the end.
    fn next(&mut self) -> Result<Option<(Token, usize)>, (usize, String)> {
        loop {
            match self.peek() {
                None => return Ok(None),
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    self.bump();
                }
                Some(b'#') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.bump();
                    }
                }
                Some(_) => break,
            }
        }
        let line = self.line;
        let token = match self.peek() {
            Some(b';') => {
                self.bump();
                Token::Semicolon
            }
            Some(b'{') => {
                self.bump();
                Token::Open
            }
            Some(b'}') => {
                self.bump();
                Token::Close
            }
            Some(quote @ (b'"' | b'\'')) => {
                self.bump();
                Token::Word(self.quoted(quote, line)?)
            }
            _ => Token::Word(self.word()),
        };
        Ok(Some((token, line)))
    }

    /// A quoted argument after its opening quote; it must be followed by a
    /// space, `;`, `{` or `)`, as nginx requires.
    fn quoted(&mut self, quote: u8, line: usize) -> Result<String, (usize, String)> {
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None => {
                    return Err((
                        line,
                        "unexpected end of file: a quoted argument is not closed".to_owned(),
                    ));
                }
                Some(b'\\') => match self.bump() {
                    None => continue,
                    Some(c) => unescape(c, &mut out),
                },
                Some(c) if c == quote => break,
                Some(c) => out.push(c),
            }
        }
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b')') => {}
            Some(c) => {
                return Err((
                    self.line,
                    format!("unexpected \"{}\" after a quoted argument", char::from(c)),
                ));
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// An unquoted word: up to a space, `;` or `{` (but `${` stays in the
    /// word); `}`, `#` and quotes inside a word are part of it, as in nginx.
    fn word(&mut self) -> String {
        let mut out = Vec::new();
        let mut variable = false;
        while let Some(c) = self.peek() {
            match c {
                b'{' if variable => {}
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' => break,
                _ => {}
            }
            self.bump();
            variable = c == b'$';
            if c == b'\\' {
                match self.bump() {
                    Some(next) => unescape(next, &mut out),
                    None => out.push(b'\\'),
                }
            } else {
                out.push(c);
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// nginx's escapes: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; any other `\c`
/// stays as written.
fn unescape(c: u8, out: &mut Vec<u8>) {
    match c {
        b'"' | b'\'' | b'\\' => out.push(c),
        b't' => out.push(b'\t'),
        b'r' => out.push(b'\r'),
        b'n' => out.push(b'\n'),
        _ => out.extend([b'\\', c]),
    }
}

impl Loader {
    fn error(&self, file: usize, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.files.get(file).cloned().unwrap_or_default(),
            line,
            message: message.into(),
        }
    }

    /// Reads and parses one file at include depth `includes` inside `depth`
    /// levels of blocks; `from` is the including directive's place.
    fn file(
        &mut self,
        path: PathBuf,
        depth: usize,
        from: Option<(usize, usize)>,
    ) -> Result<Vec<Directive>, ParseError> {
        let at = |loader: &Self, message: String| match from {
            Some((file, line)) => loader.error(file, line, message),
            None => ParseError {
                file: path.clone(),
                line: 0,
                message,
            },
        };
        if self.files.len() >= MAX_FILES {
            return Err(at(self, format!("more than {MAX_FILES} files included")));
        }
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(at(
                self,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"),
            ));
        }
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if self.stack.contains(&canonical) {
            return Err(at(
                self,
                format!("include loop: {} includes itself", path.display()),
            ));
        }
        let bytes = read_bounded(&path).map_err(|message| at(self, message))?;
        self.read += bytes.len() as u64;
        if self.read > MAX_TOTAL_SIZE {
            return Err(at(
                self,
                format!("the configuration is larger than {MAX_TOTAL_SIZE} bytes in all"),
            ));
        }
        self.files.push(path);
        self.stack.push(canonical);
        let index = self.files.len() - 1;
        let parsed = self.parse(&bytes, index, depth);
        self.stack.pop();
        parsed
    }

    /// Whether to read the files of an `include` with `args`: its one
    /// argument is checked, then it is followed unless parsing text alone.
    fn follow_include(
        &self,
        args: &[String],
        file: usize,
        line: usize,
    ) -> Result<bool, ParseError> {
        if args.len() != 1 {
            return Err(self.error(
                file,
                line,
                "invalid number of arguments in \"include\" directive",
            ));
        }
        Ok(self.follow_includes)
    }

    fn parse(
        &mut self,
        src: &[u8],
        file: usize,
        depth: usize,
    ) -> Result<Vec<Directive>, ParseError> {
        let mut lexer = Lexer {
            src,
            pos: 0,
            line: 1,
        };
        self.block(&mut lexer, file, depth, 0)
    }

    /// Directives up to the end of the file (`local` 0) or the `}` closing
    /// the block `local` levels deep in this file.
    fn block(
        &mut self,
        lexer: &mut Lexer<'_>,
        file: usize,
        depth: usize,
        local: usize,
    ) -> Result<Vec<Directive>, ParseError> {
        let mut directives = Vec::new();
        let mut words: Vec<String> = Vec::new();
        let mut start = 0;
        loop {
            let token = lexer
                .next()
                .map_err(|(line, message)| self.error(file, line, message))?;
            let Some((token, line)) = token else {
                if !words.is_empty() {
                    return Err(self.error(
                        file,
                        lexer.line,
                        "unexpected end of file, expecting \";\" or \"}\"",
                    ));
                }
                if local > 0 {
                    return Err(self.error(
                        file,
                        lexer.line,
                        "unexpected end of file, expecting \"}\"",
                    ));
                }
                return Ok(directives);
            };
            match token {
                Token::Semicolon | Token::Open if self.directives >= MAX_DIRECTIVES => {
                    return Err(self.error(
                        file,
                        line,
                        format!("more than {MAX_DIRECTIVES} directives"),
                    ));
                }
                Token::Word(word) => {
                    if words.is_empty() {
                        start = line;
                    }
                    words.push(word);
                }
                Token::Semicolon => {
                    self.directives += 1;
                    let Some((name, args)) = split(&mut words) else {
                        return Err(self.error(file, line, "unexpected \";\""));
                    };
                    if name == "include" && self.follow_include(&args, file, start)? {
                        let paths = expand(&self.prefix, &args[0])
                            .map_err(|message| self.error(file, start, message))?;
                        for path in paths {
                            directives.extend(self.file(path, depth, Some((file, start)))?);
                        }
                    } else {
                        directives.push(Directive {
                            name,
                            args,
                            file,
                            line: start,
                            block: None,
                        });
                    }
                }
                Token::Open => {
                    self.directives += 1;
                    let Some((name, args)) = split(&mut words) else {
                        return Err(self.error(file, line, "unexpected \"{\""));
                    };
                    if depth + 1 > MAX_BLOCK_DEPTH {
                        return Err(self.error(
                            file,
                            line,
                            format!("blocks nested deeper than {MAX_BLOCK_DEPTH}"),
                        ));
                    }
                    let block = self.block(lexer, file, depth + 1, local + 1)?;
                    directives.push(Directive {
                        name,
                        args,
                        file,
                        line: start,
                        block: Some(block),
                    });
                }
                Token::Close => {
                    if !words.is_empty() || local == 0 {
                        return Err(self.error(file, line, "unexpected \"}\""));
                    }
                    return Ok(directives);
                }
            }
        }
    }
}

fn split(words: &mut Vec<String>) -> Option<(String, Vec<String>)> {
    if words.is_empty() {
        return None;
    }
    let mut args = std::mem::take(words);
    let name = args.remove(0);
    Some((name, args))
}

pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    // Only regular files: a FIFO or device would block or never end.
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(format!("{} is not a regular file", path.display()));
        }
        _ => {}
    }
    let file = std::fs::File::open(path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!(
            "{} is larger than {MAX_FILE_SIZE} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// The files an `include` names: the path itself, or, if it has a glob
/// character (`*`, `?`, `[`), the matching files in sorted order (none is
/// fine, as in nginx).
fn expand(prefix: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = prefix.join(pattern);
    if !pattern.contains(['*', '?', '[']) {
        return Ok(vec![full]);
    }
    let mut found = vec![PathBuf::new()];
    for component in full.components() {
        let part = component.as_os_str().to_string_lossy();
        let is_glob = matches!(component, Component::Normal(_)) && part.contains(['*', '?', '[']);
        if !is_glob {
            found.iter_mut().for_each(|path| path.push(component));
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && !part.starts_with('.') {
                    continue;
                }
                if wildcard(part.as_bytes(), name.as_bytes()) {
                    next.push(dir.join(&*name));
                    if next.len() > MAX_FILES {
                        return Err(format!(
                            "include {pattern:?} matches more than {MAX_FILES} files"
                        ));
                    }
                }
            }
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

/// Shell wildcard match of `name` against `pattern` (`*`, `?`, `[...]` with
/// `!` or `^` and ranges), linear backtracking on the last `*`.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => class(&pattern[p..], name[n]),
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                p += len;
                n += 1;
            }
            (None, Some((star_p, star_n))) => {
                p = star_p + 1;
                n = star_n + 1;
                star = Some((star_p, star_n + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Whether `c` matches the class at the start of `pattern` (`[...]`): the
/// class's length if it does. An unclosed `[` matches itself.
fn class(pattern: &[u8], c: u8) -> Option<usize> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        match pattern.get(i) {
            None => return (c == b'[').then_some(1),
            Some(b']') if !first => break,
            Some(&low) => {
                if pattern.get(i + 1) == Some(&b'-')
                    && let Some(&high) = pattern.get(i + 2)
                    && high != b']'
                {
                    matched |= (low..=high).contains(&c);
                    i += 3;
                } else {
                    matched |= low == c;
                    i += 1;
                }
            }
        }
        first = false;
    }
    (matched != negate).then_some(i + 1)
}

/// Every directive of `directives` and of their blocks, depth first.
pub(crate) fn walk(directives: &[Directive]) -> impl Iterator<Item = &Directive> {
    let mut stack: Vec<&Directive> = directives.iter().rev().collect();
    std::iter::from_fn(move || {
        let next = stack.pop()?;
        if let Some(block) = &next.block {
            stack.extend(block.iter().rev());
        }
        Some(next)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(directives: &[Directive]) -> Vec<(String, Vec<String>, usize)> {
        walk(directives)
            .map(|d| (d.name.clone(), d.args.clone(), d.line))
            .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn grammar_as_nginx_reads_it() {
        let text = "# comment\nhttp {\n  server { listen 443 ssl; # trailing\n\
                    return 200 \"a \\\"b\\\" c\\n\"; set $x 'it\\'s';\n\
                    if ($ssl_client_verify != SUCCESS) { return 403; }\n\
                    add_header X ${host}a#b; }\n}\n";
        let got = names(&Config::parse_str(text).expect("parses"));
        assert_eq!(
            got,
            [
                ("http".to_owned(), s(&[]), 2),
                ("server".to_owned(), s(&[]), 3),
                ("listen".to_owned(), s(&["443", "ssl"]), 3),
                ("return".to_owned(), s(&["200", "a \"b\" c\n"]), 4),
                ("set".to_owned(), s(&["$x", "it's"]), 4),
                (
                    "if".to_owned(),
                    s(&["($ssl_client_verify", "!=", "SUCCESS)"]),
                    5
                ),
                ("return".to_owned(), s(&["403"]), 5),
                ("add_header".to_owned(), s(&["X", "${host}a#b"]), 6),
            ]
        );
        // A quoted argument may span lines; the next directive's line counts them.
        let got = names(&Config::parse_str("a \"x\ny\";\nb;").expect("parses"));
        assert_eq!(got[1], ("b".to_owned(), s(&[]), 3));
        // `}` inside a word is part of it.
        let got = names(&Config::parse_str("a b};").expect("parses"));
        assert_eq!(got[0].1, s(&["b}"]));
    }

    #[test]
    fn hostile_input_is_an_error_with_a_line_never_a_panic() {
        for (text, line, needle) in [
            ("a \"unterminated;\n\n", 1, "quoted argument is not closed"),
            ("a 'x;", 1, "not closed"),
            ("a \"x\"y;", 1, "unexpected \"y\""),
            ("http {\n server {\n", 3, "expecting \"}\""),
            ("a b", 1, "expecting \";\" or \"}\""),
            ("}", 1, "unexpected \"}\""),
            ("a { b }", 1, "unexpected \"}\""),
            (";", 1, "unexpected \";\""),
            ("{}", 1, "unexpected \"{\""),
            ("include;", 1, "invalid number of arguments"),
        ] {
            let error = Config::parse_str(text).expect_err(text);
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(error.message.contains(needle), "{text:?}: {error}");
        }
        let deep = "a {".repeat(100_000);
        let error = Config::parse_str(&deep).expect_err("too deep");
        assert!(error.message.contains("nested deeper than 64"), "{error}");

        // Pseudo-random bytes from the grammar's alphabet: an answer, never a
        // panic.
        let alphabet = b"ab $#{};'\"\\\n\t(";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5_000 {
            let len = (state % 64) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let _ = Config::parse_str(&String::from_utf8_lossy(&text));
        }
    }

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("mtls-nginx-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("mkdir");
            Self(path)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            path
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn includes_splice_globs_sorted_relative_to_the_prefix() {
        let dir = Dir::new("globs");
        let main = dir.write(
            "nginx.conf",
            "http {\n include conf.d/*.conf;\n include none/*.conf;\n include single.inc; }\n",
        );
        dir.write("conf.d/b.conf", "server { listen 2; }\n");
        dir.write("conf.d/a.conf", "\n\nserver { listen 1; }\n");
        dir.write("conf.d/.hidden.conf", "broken {");
        dir.write("conf.d/c.txt", "broken {");
        dir.write("single.inc", "ssl_verify_depth 2;");
        let config = Config::load(&main).expect("loads");
        let http = config.directives[0].block.as_ref().expect("http block");
        let got: Vec<(&str, usize, &Path)> = http
            .iter()
            .map(|d| (d.name.as_str(), d.line, config.files[d.file].as_path()))
            .collect();
        assert_eq!(
            got,
            [
                ("server", 3, dir.0.join("conf.d/a.conf").as_path()),
                ("server", 1, dir.0.join("conf.d/b.conf").as_path()),
                ("ssl_verify_depth", 1, dir.0.join("single.inc").as_path()),
            ]
        );
        assert_eq!(config.files.len(), 4);

        // A missing file without glob characters is an error at the include.
        let main = dir.write("missing.conf", "\ninclude nope.conf;");
        let error = Config::load(&main).expect_err("missing include");
        assert_eq!((error.file.as_path(), error.line), (main.as_path(), 2));
        assert!(error.message.contains("cannot open"), "{error}");

        // An unbalanced included file is an error in that file.
        let main = dir.write("unbalanced.conf", "http { include conf.d/c.txt; }");
        let error = Config::load(&main).expect_err("unbalanced include");
        assert_eq!(error.file, dir.0.join("conf.d/c.txt"), "{error}");
    }

    #[test]
    fn include_loops_and_depth_and_size_are_bounded() {
        let dir = Dir::new("loops");
        let main = dir.write("nginx.conf", "include a.conf;");
        dir.write("a.conf", "include b.conf;");
        dir.write("b.conf", "include a.conf;");
        let error = Config::load(&main).expect_err("loop");
        assert!(error.message.contains("include loop"), "{error}");
        assert_eq!(error.file, dir.0.join("b.conf"));

        let main = dir.write("self.conf", "include self.conf;");
        assert!(
            Config::load(&main)
                .expect_err("self")
                .message
                .contains("include loop")
        );

        // A chain of 40 distinct files stops at the depth limit.
        for i in 0..40 {
            dir.write(&format!("d{i}.conf"), &format!("include d{}.conf;", i + 1));
        }
        dir.write("d40.conf", "x;");
        let error = Config::load(&dir.0.join("d0.conf")).expect_err("deep");
        assert!(error.message.contains("nested deeper than 16"), "{error}");

        // Blocks nested across includes count together.
        dir.write(
            "blocks.conf",
            &format!(
                "{}include blocks-in.conf;{}",
                "a {".repeat(40),
                "}".repeat(40)
            ),
        );
        dir.write(
            "blocks-in.conf",
            &format!("{}x;{}", "b {".repeat(30), "}".repeat(30)),
        );
        let error = Config::load(&dir.0.join("blocks.conf")).expect_err("blocks");
        assert!(error.message.contains("nested deeper than 64"), "{error}");

        let error = Config::load(&dir.0).expect_err("a directory");
        assert!(error.message.contains("not a regular file"), "{error}");
        #[cfg(unix)]
        {
            let fifo = dir.0.join("fifo.conf");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|status| status.success()) {
                let main = dir.write("fifo-main.conf", "include fifo.conf;");
                let error = Config::load(&main).expect_err("a FIFO, without blocking");
                assert!(error.message.contains("not a regular file"), "{error}");
            }
        }

        // Many files under the per-file limit still meet the total one.
        let chunk = " ".repeat(3 << 20);
        for i in 0..12 {
            dir.write(&format!("total/{i:02}.conf"), &chunk);
        }
        let main = dir.write("total.conf", "include total/*.conf;");
        let error = Config::load(&main).expect_err("too much in all");
        assert!(error.message.contains("in all"), "{error}");

        let many = dir.write("many.conf", &"a;".repeat(MAX_DIRECTIVES + 1));
        let error = Config::load(&many).expect_err("too many directives");
        assert!(error.message.contains("directives"), "{error}");
        let mut ok = "a;".repeat(MAX_DIRECTIVES);
        ok.push('\n');
        let ok = dir.write("many-ok.conf", &ok);
        assert_eq!(
            Config::load(&ok).expect("at the limit").directives.len(),
            MAX_DIRECTIVES
        );

        let big = dir.write("big.conf", "");
        std::fs::write(&big, vec![b' '; MAX_FILE_SIZE as usize + 1]).expect("write");
        let error = Config::load(&big).expect_err("too big");
        assert!(error.message.contains("larger than"), "{error}");

        // A glob matching the including file is a loop too.
        let main = dir.write("g.conf", "include g*.conf;");
        let error = Config::load(&main).expect_err("glob loop");
        assert!(error.message.contains("include loop"), "{error}");
    }

    #[test]
    fn wildcards() {
        for (pattern, name, matches) in [
            ("*.conf", "a.conf", true),
            ("*.conf", "a.conf.bak", false),
            ("a?c", "abc", true),
            ("[ab]*", "bx", true),
            ("[!ab]*", "bx", false),
            ("[a-c].conf", "c.conf", true),
            ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("[", "[", true),
            ("*", "", true),
        ] {
            assert_eq!(
                wildcard(pattern.as_bytes(), name.as_bytes()),
                matches,
                "{pattern} {name}"
            );
        }
    }
}
